package test.callouts;

import com.apigee.flow.execution.Action;
import com.apigee.flow.execution.ExecutionContext;
import com.apigee.flow.execution.ExecutionResult;
import com.apigee.flow.execution.spi.Execution;
import com.apigee.flow.message.Message;
import com.apigee.flow.message.MessageContext;
import java.util.Map;

/** What the JavaCallout tests drive: the x-marker request header says what to do. */
public class TestCallout implements Execution {
  private final Map<String, String> properties;
  private static volatile long spins;

  public TestCallout(Map<String, String> properties) {
    this.properties = properties;
  }

  @Override
  public ExecutionResult execute(MessageContext mc, ExecutionContext ec) {
    Message message = mc.getMessage();
    String marker = mc.getRequestMessage().getHeader("x-marker");
    if ("throw".equals(marker)) {
      mc.setVariable("java.before", "set before the throw");
      throw new IllegalStateException("the marker says throw");
    }
    if ("loop".equals(marker)) {
      // Never checks for interruption: the host has to stop the thread.
      for (;;) spins++;
    }
    if ("abort".equals(marker)) {
      ExecutionResult r = new ExecutionResult(false, Action.ABORT);
      r.setErrorResponse("{\"error\":\"denied by callout\"}");
      r.addErrorResponseHeader("x-callout-error", "denied");
      return r;
    }
    if ("null".equals(marker)) return null;
    if ("isolation".equals(marker)) {
      mc.setVariable("java.grpc", visible("io.grpc.Server"));
      mc.setVariable("java.proto", visible("com.google.apigee.proto.ExternalCallout"));
      mc.setVariable("java.host", visible("dev.gatehouse.callout.host.Main"));
      mc.setVariable("java.jdk", visible("java.util.concurrent.ConcurrentHashMap"));
      return ExecutionResult.SUCCESS;
    }
    message.setHeader("x-java", properties.get("greeting"));
    message.removeHeader("x-remove-me");
    if (!ec.isRequestFlow()) message.setContent(message.getContent().toUpperCase());
    else message.setHeader("x-query-a", message.getQueryParam("a"));
    mc.setVariable("java.seen", mc.getVariable("request.header.x-in") + "/" + mc.getVariable("my.var"));
    mc.setVariable("java.count", 42);
    mc.setVariable("java.flag", true);
    mc.removeVariable("doomed");
    return ExecutionResult.SUCCESS;
  }

  private static String visible(String name) {
    try {
      Class.forName(name, false, TestCallout.class.getClassLoader());
      return "visible";
    } catch (ClassNotFoundException e) {
      return "hidden";
    }
  }
}
