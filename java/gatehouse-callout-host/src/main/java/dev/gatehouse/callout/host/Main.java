package dev.gatehouse.callout.host;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Java callout host's entry point (docs/operations.md#java-callout-host). Flags (or the
 * environment variables in brackets):
 * <pre>
 *   --listen HOST:PORT      [GATEHOUSE_CALLOUT_LISTEN]   default 127.0.0.1:9443 (a sidecar's loopback); port 0 picks one
 *   --jars FOLDER           [GATEHOUSE_CALLOUT_JARS]     default /callouts: the jars ResourceURL java://NAME.jar names
 *   --max-concurrent N      [GATEHOUSE_CALLOUT_MAX_CONCURRENT] default 64
 *   --max-timeout-ms N      [GATEHOUSE_CALLOUT_MAX_TIMEOUT_MS] default 10000: the longest a call may run
 *   --max-message-bytes N   [GATEHOUSE_CALLOUT_MAX_MESSAGE_BYTES] default 8388608
 * </pre>
 * Prints "gatehouse-callout-host listening on HOST:PORT" once it serves (tests wait for that line).
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new LinkedHashMap<>();
    opts.put("listen", env("GATEHOUSE_CALLOUT_LISTEN", "127.0.0.1:9443"));
    opts.put("jars", env("GATEHOUSE_CALLOUT_JARS", "/callouts"));
    opts.put("max-concurrent", env("GATEHOUSE_CALLOUT_MAX_CONCURRENT", "64"));
    opts.put("max-timeout-ms", env("GATEHOUSE_CALLOUT_MAX_TIMEOUT_MS", "10000"));
    opts.put("max-message-bytes", env("GATEHOUSE_CALLOUT_MAX_MESSAGE_BYTES", "8388608"));
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help")) {
        System.out.println("gatehouse-callout-host [--FLAG VALUE]...; flags and their defaults: " + opts);
        System.exit(0);
      }
      if (!a.startsWith("--") || !opts.containsKey(a.substring(2)) || i + 1 >= args.length) {
        System.err.println("gatehouse-callout-host: unknown or incomplete flag " + a + "; flags: " + opts.keySet());
        System.exit(2);
      }
      opts.put(a.substring(2), args[++i]);
    }
    Path jars = Path.of(opts.get("jars"));
    if (!Files.isDirectory(jars)) {
      System.err.println("gatehouse-callout-host: --jars " + jars + " is not a folder");
      System.exit(2);
    }
    String listen = opts.get("listen");
    int colon = listen.lastIndexOf(':');
    if (colon < 0) {
      System.err.println("gatehouse-callout-host: --listen " + listen + " is not HOST:PORT");
      System.exit(2);
    }
    String host = listen.substring(0, colon);
    int port = Integer.parseInt(listen.substring(colon + 1));

    HealthStatusManager health = new HealthStatusManager();
    CalloutService service =
        new CalloutService(
            new CalloutLoader(jars),
            Integer.parseInt(opts.get("max-concurrent")),
            Long.parseLong(opts.get("max-timeout-ms")),
            1000);
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
            .maxInboundMessageSize(Integer.parseInt(opts.get("max-message-bytes")))
            .addService(service)
            .addService(health.getHealthService())
            .build()
            .start();
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus("apigee.ExternalCalloutService", ServingStatus.SERVING);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  health.enterTerminalState();
                  server.shutdown();
                }));
    InetSocketAddress bound = (InetSocketAddress) server.getListenSockets().get(0);
    System.out.println("gatehouse-callout-host listening on " + host + ":" + bound.getPort());
    System.out.flush();
    server.awaitTermination();
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }
}
