// Envoy's side of one ext_proc gRPC stream (ExternalProcessorStreamImpl plus the filter's message
// timer): messages go out, replies come back one per message within message_timeout, which the
// server may extend once per message (override_message_timeout, ProcessorState::restartMessageTimer).
// A reply or a stream end that comes while no message is outstanding is reported to `onUnexpected`:
// Envoy handles it when it arrives (spurious message, onGrpcClose, onGrpcError). close() is
// Envoy's close(): a half-close immediately followed by a reset, so the server sees a cancel.
import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ProcessingRequest } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import { ExtProcGrpcError, ExtProcMessageTimeoutError, ExtProcStreamClosedError, type ExtProcError } from './errors.ts';

export type ProcessorEvent = { reply: ProcessingResponse__Output } | { error: ExtProcError };

type Waiter = (event: ProcessorEvent) => void;

export class ProcessorStream {
  private readonly call: grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse__Output>;
  private readonly onUnexpected: (event: ProcessorEvent) => void;
  private readonly queued: ProcessorEvent[] = [];
  private waiter: Waiter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerRestarted = false;
  /** A message is outstanding (between onStartProcessorCall and onFinishProcessorCall). */
  private inCall = false;
  private closed = false;
  /** Replies that came after close(), for tests (Envoy drops them). */
  readonly late: ProcessingResponse__Output[] = [];

  constructor(
    call: grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse__Output>,
    onUnexpected: (event: ProcessorEvent) => void,
  ) {
    this.call = call;
    this.onUnexpected = onUnexpected;
    call.on('data', (reply: ProcessingResponse__Output) => this.deliver({ reply }));
    call.on('status', (status: grpc.StatusObject) => {
      this.deliver({
        error:
          status.code === grpcStatus.OK
            ? new ExtProcStreamClosedError()
            : new ExtProcGrpcError(status.code, status.details),
      });
    });
    call.on('error', () => undefined); // the status event carries it
  }

  private deliver(event: ProcessorEvent): void {
    if (this.closed) {
      if ('reply' in event) this.late.push(event.reply);
      return;
    }
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter(event);
    } else if (this.inCall) {
      this.queued.push(event);
    } else {
      this.onUnexpected(event);
    }
  }

  /** Sends a message and starts its message_timeout (onStartProcessorCall). */
  send(message: ProcessingRequest, timeoutMs: number): void {
    this.call.write(message);
    this.inCall = true;
    this.timerRestarted = false;
    this.arm(timeoutMs);
  }

  private arm(timeoutMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.deliver({ error: new ExtProcMessageTimeoutError(timeoutMs) });
    }, timeoutMs);
  }

  /** The next reply to the outstanding message, or why none will come. */
  next(): Promise<ProcessorEvent> {
    const ready = this.queued.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** The reply arrived or the call failed: the timer stops (onFinishProcessorCall). */
  finishCall(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inCall = false;
  }

  /** ProcessorState::restartMessageTimer: once per message, while its timer runs. */
  restartTimer(timeoutMs: number): boolean {
    if (!this.timer || this.timerRestarted) return false;
    this.timerRestarted = true;
    this.arm(timeoutMs);
    return true;
  }

  /** ExternalProcessorStreamImpl::close: closeStream() then resetStream(). */
  close(): void {
    if (this.closed) return;
    this.finishCall();
    this.closed = true;
    this.call.end();
    this.call.cancel();
  }
}
