// `gatehouse extproc`: its flags, defaults and help, declared once, and the rules across flags. A new
// flag is one row of the table; its parsed value reaches runExtproc as a camelCase option. Loads only
// lib/cli; the server is imported when the command runs.
import { defineCommand } from '../../lib/cli/command.ts';
import { hostPort, oneOf, port, positiveInt, text, wholeNumber, type FlagValues } from '../../lib/cli/flags.ts';
import { serverTlsConfig, serverTlsFlags, xdsTlsConfig, xdsTlsFlags } from '../../lib/cli/tls.ts';
import { UsageError } from '../../lib/errors.ts';

const flags = {
  port: port({ default: 9002, description: 'ext_proc gRPC port' }),
  'metrics-port': port({ default: 9003, description: '/healthz, /readyz and /metrics port' }),
  snapshot: text({
    value: 'FILE',
    description: 'runtime snapshot JSON written by `gatehouse compile` (reloaded on change)',
  }),
  xds: hostPort({ description: 'subscribe to the runtime snapshot over ADS' }),
  'node-id': text({
    value: 'ID',
    description: 'xDS node id, unique per process: the pod name in a DataPlane',
    defaultText: '$GATEHOUSE_NODE_ID, else extproc/HOSTNAME',
  }),
  'node-cluster': text({
    value: 'NAME',
    default: 'gatehouse-extproc',
    description: 'xDS node cluster: NAMESPACE/DATAPLANE/extproc in a DataPlane, which maps the node to it in status',
  }),
  redis: text({
    value: 'URL',
    env: 'GATEHOUSE_REDIS_URL',
    description: 'shared state in Redis; prefer the variable: arguments are visible in /proc',
    defaultText: 'in-memory stores',
  }),
  'redis-mode': oneOf(['Standalone', 'Sentinel', 'Cluster'], {
    value: 'MODE',
    default: 'Standalone',
    description: 'how --redis names the servers: Sentinel redis://h1,h2/?name=MASTER, Cluster redis://h1:p1,h2:p2',
  }),
  'redis-on-unavailable': oneOf(['FailClosed', 'LocalFallback'], {
    value: 'ACTION',
    default: 'FailClosed',
    description: 'when Redis is down: FailClosed answers 503, LocalFallback counts per replica at limit/replicas',
  }),
  'redis-deadline-ms': positiveInt({ value: 'MS', default: 75, description: 'longest a request waits on Redis' }),
  replicas: positiveInt({ default: 1, description: 'extproc replicas sharing each limit (for LocalFallback)' }),
  region: text({
    value: 'NAME',
    default: 'default',
    description: 'the region: prefixes every Redis key, so regions sharing a Redis never meet',
  }),
  'cache-dir': text({
    value: 'DIR',
    description: 'keep the last good snapshot here and start from it when the control plane is unreachable',
  }),
  'max-body-bytes': positiveInt({
    value: 'BYTES',
    default: 1_048_576,
    description: 'largest request/response body a policy may buffer (413 beyond)',
  }),
  // The bounds below: docs/failure-modes.md. Defaults equal server/limits.ts and server/server.ts
  // (command.test.ts holds them equal; this module loads only lib/cli).
  'max-buffered-body-bytes': positiveInt({
    value: 'BYTES',
    default: 134_217_728,
    description: 'body bytes all streams together may hold (503 gatehouse.BodyBufferFull beyond)',
  }),
  'max-headers-count': positiveInt({
    default: 100,
    description: "headers per message, as Envoy's max_headers_count (431 / 502 beyond)",
  }),
  'max-request-headers-kb': positiveInt({
    value: 'KIB',
    default: 60,
    description: "header bytes per message, as Envoy's max_request_headers_kb (431 / 502 beyond)",
  }),
  'stream-idle-timeout-ms': positiveInt({
    value: 'MS',
    default: 300_000,
    description: "end a stream with no message for this long (DEADLINE_EXCEEDED), as Envoy's stream_idle_timeout",
  }),
  'max-streams': positiveInt({
    default: 10_000,
    description: 'streams open at once in this process; more are refused with RESOURCE_EXHAUSTED',
  }),
  'metrics-max-proxies': positiveInt({
    default: 500,
    description: 'distinct proxy label values in the per-proxy metrics; later proxies are counted as _other',
  }),
  transport: oneOf(['http2', 'grpc-js'], {
    value: 'NAME',
    default: 'http2',
    description:
      'what carries the gRPC streams: grpc-js, or http2 (gRPC on node:http2 with generated codecs, less CPU per request; docs/architecture.md#the-hot-path)',
  }),
  'max-connection-streams': wholeNumber({
    default: 0,
    description: 'concurrent streams per HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS); 0: none advertised',
  }),
  workers: wholeNumber({
    description: 'worker threads for policy work on large bodies; 0: all of it inline on the event loop',
    defaultText: 'CPUs - 1, at least 1',
  }),
  'work-queue': wholeNumber({
    default: 64,
    description: 'policy tasks that may wait for a busy worker (503 gatehouse.WorkQueueFull beyond)',
  }),
  'work-budget-ms': positiveInt({
    value: 'MS',
    default: 1000,
    description: "a phase's policy work on the workers, waiting included (503 gatehouse.WorkBudgetExceeded beyond)",
  }),
  'python-workers': positiveInt({
    value: 'N',
    default: 2,
    description:
      'threads running Script (Python) policies, each with its own Python (about 1-3 s and 100+ MB to start); started when a snapshot first holds one',
  }),
  'offload-min-bytes': wholeNumber({
    value: 'BYTES',
    default: 32_768,
    description:
      'policy tasks from this weight run on the workers, lighter ones inline; the weight is the body size, x8 for JSONPath, x16 for XSD and x64 for XPath work (XSLTransform and JavaScript always run on the workers)',
  }),
  'otlp-endpoint': text({
    value: 'HOST:PORT',
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    description:
      "send spans (one per stream and policy step, joining Envoy's trace) to this OTLP gRPC collector; sampling follows Envoy's",
    defaultText: 'no tracing',
  }),
  ...serverTlsFlags({ serves: 'ext_proc', clientCertificates: "client certificates (Envoy's)" }),
  ...xdsTlsFlags(),
};

function extprocOptions(v: FlagValues<typeof flags>) {
  if ((v.xds === undefined) === (v.snapshot === undefined))
    throw new UsageError('give one of --snapshot FILE or --xds HOST:PORT');
  const xdsTls = xdsTlsConfig(v);
  if (xdsTls && v.xds === undefined) throw new UsageError('--xds-tls-* need --xds');
  const {
    maxBodyBytes,
    maxBufferedBodyBytes,
    maxHeadersCount,
    maxRequestHeadersKb,
    streamIdleTimeoutMs,
    maxStreams,
    maxConnectionStreams,
  } = v;
  return {
    ...v,
    tls: serverTlsConfig(v),
    xdsTls,
    /** server/limits.ts StreamLimits. */
    limits: {
      maxBodyBytes,
      maxBufferedBodyBytes,
      maxHeadersCount,
      maxHeadersBytes: maxRequestHeadersKb * 1024,
      streamIdleTimeoutMs,
      maxStreams,
      maxConnectionStreams,
    },
    /** server/server.ts WorkOptions (the worker count only when given: the default is per machine). */
    work: {
      ...(v.workers !== undefined ? { workers: v.workers } : {}),
      queue: v.workQueue,
      budgetMs: v.workBudgetMs,
      minBytes: v.offloadMinBytes,
    },
  };
}

export type ExtprocOptions = ReturnType<typeof extprocOptions>;

export const extprocCommand = defineCommand({
  name: 'extproc',
  summary: 'data-plane policy engine: Envoy ext_proc gRPC service',
  usage: 'gatehouse extproc (--snapshot FILE | --xds HOST:PORT) [--redis URL [--redis-mode MODE]] [--cache-dir DIR]',
  flags,
  options: extprocOptions,
  run: async (o) => (await import('./main.ts')).runExtproc(o),
});
