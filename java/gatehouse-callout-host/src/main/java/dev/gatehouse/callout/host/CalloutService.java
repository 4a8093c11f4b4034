package dev.gatehouse.callout.host;

import com.apigee.flow.execution.ExecutionResult;
import com.apigee.flow.execution.spi.Execution;
import com.google.apigee.proto.ExternalCallout;
import com.google.apigee.proto.ExternalCalloutServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Apigee's ExternalCalloutService, running Java callouts (docs/policies.md#javacallout). The call
 * names its callout in reserved flow variables (gatehouse.javacallout.class, .resource, .property.NAME,
 * .timeout_ms). Each call runs on a pooled thread under a deadline and a concurrency limit:
 * <ul>
 *   <li>an exception, a null or a non-success result answers with the proto's Fault named
 *       ExecutionError (extproc raises steps.javacallout.ExecutionError);
 *   <li>a call past its deadline is interrupted, then stopped, and answers DEADLINE_EXCEEDED;
 *   <li>a call beyond the limit answers RESOURCE_EXHAUSTED at once instead of queueing.
 * </ul>
 * A thread that ignores interruption keeps its slot until it is stopped, so a runaway callout can
 * never make the host take more work than its limit.
 */
final class CalloutService extends ExternalCalloutServiceGrpc.ExternalCalloutServiceImplBase {
  private static final Logger LOG = Logger.getLogger(CalloutService.class.getName());
  static final String CLASS = HostMessageContext.RESERVED + "class";
  static final String RESOURCE = HostMessageContext.RESERVED + "resource";
  static final String PROPERTY = HostMessageContext.RESERVED + "property.";
  static final String TIMEOUT = HostMessageContext.RESERVED + "timeout_ms";
  /** Answer-only: a description of why the callout failed, for extproc's log (never the client's). */
  static final String ERROR = HostMessageContext.RESERVED + "error";
  /** Answer-only: which message's content the callout set ("request", "response" or both). */
  static final String CONTENT_CHANGED = HostMessageContext.RESERVED + "content_changed";

  private final CalloutLoader loader;
  private final Semaphore slots;
  private final long maxTimeoutMs;
  private final long graceMs;
  private final AtomicLong threads = new AtomicLong();
  /**
   * Callouts run on pooled threads (a thread per call costs more than a short callout); the pool is
   * unbounded because the slots already bound it. A stopped thread ends its task and is reused.
   */
  private final ExecutorService workers =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "callout-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
          });

  CalloutService(CalloutLoader loader, int maxConcurrent, long maxTimeoutMs, long graceMs) {
    this.loader = loader;
    this.slots = new Semaphore(maxConcurrent);
    this.maxTimeoutMs = maxTimeoutMs;
    this.graceMs = graceMs;
  }

  @Override
  public void processMessage(ExternalCallout.MessageContext in, StreamObserver<ExternalCallout.MessageContext> out) {
    Map<String, ExternalCallout.FlowVariable> vars = in.getAdditionalFlowVariablesMap();
    String className = text(vars.get(CLASS));
    String resource = text(vars.get(RESOURCE));
    if (className == null || resource == null) {
      out.onError(Status.INVALID_ARGUMENT.withDescription("the call names no " + CLASS + " and " + RESOURCE).asRuntimeException());
      return;
    }
    Map<String, String> properties = new TreeMap<>();
    vars.forEach(
        (name, value) -> {
          if (name.startsWith(PROPERTY)) properties.put(name.substring(PROPERTY.length()), text(value));
        });
    long timeoutMs = maxTimeoutMs;
    String askedTimeout = text(vars.get(TIMEOUT));
    if (askedTimeout != null) {
      try {
        timeoutMs = Math.max(1, Math.min(maxTimeoutMs, Long.parseLong(askedTimeout)));
      } catch (NumberFormatException e) {
        // Keep the host's limit.
      }
    }
    if (!slots.tryAcquire()) {
      out.onError(Status.RESOURCE_EXHAUSTED.withDescription("every callout slot is busy").asRuntimeException());
      return;
    }
    HostMessageContext context = new HostMessageContext(in);
    Outcome outcome = new Outcome();
    CountDownLatch loaded = new CountDownLatch(1);
    Future<?> done =
        workers.submit(
            () -> {
              outcome.thread = Thread.currentThread();
              try {
                Execution callout;
                try {
                  callout = loader.instance(resource, className, properties);
                } finally {
                  loaded.countDown();
                }
                outcome.result = callout.execute(context, context);
              } catch (CalloutLoader.LoadException e) {
                outcome.failure = e.getMessage();
              } catch (ThreadDeath e) {
                outcome.failure = "stopped after its deadline";
              } catch (Throwable e) {
                outcome.failure = "threw " + e;
              } finally {
                slots.release();
              }
            });
    boolean finished = false;
    try {
      // Loading the jar and constructing the callout (once per jar version, class and properties; Apigee
      // does it at deployment) has the host's limit; execute() has the call's.
      if (loaded.await(maxTimeoutMs, TimeUnit.MILLISECONDS)) {
        done.get(timeoutMs, TimeUnit.MILLISECONDS);
        finished = true;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (TimeoutException | ExecutionException e) {
      // Not finished: abandoned below.
    }
    if (!finished) {
      abandon(outcome.thread, done, className);
      out.onError(
          Status.DEADLINE_EXCEEDED.withDescription("callout " + className + " ran past " + timeoutMs + " ms").asRuntimeException());
      return;
    }
    ExternalCallout.MessageContext.Builder answer = context.answer();
    String failure = outcome.failure;
    if (failure == null && (outcome.result == null || !outcome.result.isSuccess())) {
      failure = outcome.result == null ? "returned null" : "returned " + outcome.result.getAction();
    }
    if (failure != null) {
      LOG.log(Level.INFO, "callout {0} from {1} failed: {2}", new Object[] {className, resource, failure});
      answer.setFault(
          ExternalCallout.Fault.newBuilder().setName("ExecutionError").setFaultString("Execution returned an error result"));
      answer.putAdditionalFlowVariables(ERROR, HostMessageContext.wire(failure));
      ExecutionResult r = outcome.result;
      if (r != null && r.getErrorResponse() != null) {
        answer.putAdditionalFlowVariables(HostMessageContext.RESERVED + "error_response", HostMessageContext.wire(r.getErrorResponse()));
      }
      if (r != null) {
        r.getErrorResponseHeaders()
            .forEach(
                (k, v) ->
                    answer.putAdditionalFlowVariables(
                        HostMessageContext.RESERVED + "error_header." + k, HostMessageContext.wire(v)));
      }
    }
    String changed = (context.contentChanged(true) ? "request " : "") + (context.contentChanged(false) ? "response" : "");
    if (!changed.isBlank()) answer.putAdditionalFlowVariables(CONTENT_CHANGED, HostMessageContext.wire(changed.trim()));
    out.onNext(answer.build());
    out.onCompleted();
  }

  /**
   * A callout past its deadline: interrupt it, and stop its thread when it ignores that. Thread.stop
   * is deprecated but is the only way to end code that never checks for interruption (JDK 17 still
   * has it; where it throws, the thread keeps its slot until it ends by itself).
   */
  @SuppressWarnings({"deprecation", "removal"})
  private void abandon(Thread worker, Future<?> done, String className) {
    if (worker == null) {
      done.cancel(true); // not started yet: it never will
      return;
    }
    worker.interrupt();
    Thread reaper =
        new Thread(
            () -> {
              try {
                done.get(graceMs, TimeUnit.MILLISECONDS);
              } catch (TimeoutException e) {
                LOG.warning("callout " + className + " ignored interruption; stopping its thread");
                try {
                  worker.stop();
                } catch (UnsupportedOperationException u) {
                  LOG.warning("callout " + className + " could not be stopped: " + u);
                }
              } catch (InterruptedException | ExecutionException e) {
                // Ended one way or another.
              }
            },
            "callout-reaper-" + threads.incrementAndGet());
    reaper.setDaemon(true);
    reaper.start();
  }

  private static String text(ExternalCallout.FlowVariable v) {
    if (v == null) return null;
    Object plain = HostMessageContext.plain(v);
    return plain == null ? null : String.valueOf(plain);
  }

  private static final class Outcome {
    volatile ExecutionResult result;
    volatile String failure;
    volatile Thread thread;
  }
}
