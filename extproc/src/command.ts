// `gatehouse extproc`: its flags, defaults and help, declared once, and the rules across flags. A new
// flag is one row of the table; its parsed value reaches runExtproc as a camelCase option. Loads only
// lib/cli; the server is imported when the command runs.
import { defineCommand } from '../../lib/cli/command.ts';
import {
  duration,
  formatDuration,
  hostPort,
  oneOf,
  port,
  positiveInt,
  text,
  wholeNumber,
  type FlagValues,
} from '../../lib/cli/flags.ts';
import { serverTlsConfig, serverTlsFlags, xdsTlsConfig, xdsTlsFlags } from '../../lib/cli/tls.ts';
import { UsageError } from '../../lib/errors.ts';

/** The most processes --workers starts (and the cap of its default). */
export const MAX_WORKERS = 64;
/** The longest --max-connection-age and grace: 24h, well inside Node's timer range. */
const MAX_CONNECTION_AGE_MS = 24 * 3_600_000;
export const MAX_DEFAULT_WORKERS = 16;

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
  'max-connection-age': duration({
    default: 0,
    description:
      "send GOAWAY on a connection this old (plus or minus 10%): its streams finish and Envoy reconnects, so new replicas get a share; as grpc-go's MaxConnectionAge; 0s: never",
  }),
  'max-connection-age-grace': duration({
    default: 0,
    description: 'after that GOAWAY, close the connection this much later even with streams still open; 0s: never',
  }),
  workers: wholeNumber({
    description:
      'processes serving --port together (node:cluster), each with its own event loop; more than 1 needs --redis',
    defaultText: 'with --redis the CPU quota of the cgroup (at most 16), else 1',
  }),
  'work-threads': wholeNumber({
    description: 'worker threads (per process) for policy work on large bodies; 0: all of it inline on the event loop',
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
  // Key sets fetched from URLs for VerifyJWT/VerifyJWS/VerifyJWTAccessToken (docs/policies.md#keys-from-a-url).
  // Defaults equal keys/remote-key-sets.ts DEFAULT_REMOTE_KEY_OPTIONS (command.test.ts holds them equal).
  'jwks-cache-default': duration({
    default: 300_000,
    description: 'how long a JWKS or discovery document is cached when its response has no Cache-Control max-age',
  }),
  'jwks-cache-min': duration({
    default: 30_000,
    description: 'shortest caching of a document, whatever its max-age says (no-store and no-cache count as this)',
  }),
  'jwks-cache-max': duration({ default: 86_400_000, description: 'longest caching of a document, at most 7 days' }),
  'jwks-refetch-interval': duration({
    default: 30_000,
    description:
      'a kid the cached set lacks refetches its URL at most once per this time (a flood of random kids cannot hammer the issuer)',
  }),
  'jwks-stale-if-error': duration({
    default: 3_600_000,
    description: 'how long past its expiry the last good set is still served while refreshes fail; 0s: never',
  }),
  'jwks-failure-backoff': duration({
    default: 5_000,
    description: 'no new attempt at a URL within this time of a failed one',
  }),
  'jwks-fetch-timeout': duration({
    default: 5_000,
    description: 'one fetch, connect, TLS, headers and body together (100ms to 1m)',
  }),
  'jwks-max-bytes': positiveInt({
    value: 'BYTES',
    default: 262_144,
    description: 'largest JWKS or discovery document accepted (1024 to 16777216)',
  }),
  'jwks-max-urls': positiveInt({
    default: 1000,
    description: 'key set URLs held at once; the least recently used is dropped beyond (at most 100000)',
  }),
  'otlp-tls-ca': text({
    value: 'FILE',
    env: 'OTEL_EXPORTER_OTLP_CERTIFICATE',
    description:
      '--otlp-endpoint over TLS, trusting this CA bundle (reloaded for new connections); the DataPlane controller mounts spec.tracing.tls.caSecretRef',
  }),
  'otlp-tls-cert': text({
    value: 'FILE',
    env: 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE',
    description: 'client certificate for --otlp-endpoint (mutual TLS; reloaded)',
  }),
  'otlp-tls-key': text({
    value: 'FILE',
    env: 'OTEL_EXPORTER_OTLP_CLIENT_KEY',
    description: 'the private key of --otlp-tls-cert',
  }),
  'otlp-tls-server-name': text({
    value: 'NAME',
    description: "the name the collector's certificate must carry, and the SNI; default the endpoint's host",
  }),
  ...serverTlsFlags({ serves: 'ext_proc', clientCertificates: "client certificates (Envoy's)" }),
  ...xdsTlsFlags(),
};

const DAY_MS = 86_400_000;

/** --jwks-*: keys/remote-key-sets.ts RemoteKeySetOptions, each bound checked and named. */
function remoteKeyOptions(v: FlagValues<typeof flags>) {
  const o = {
    ttlMs: v.jwksCacheDefault,
    minTtlMs: v.jwksCacheMin,
    maxTtlMs: v.jwksCacheMax,
    refetchIntervalMs: v.jwksRefetchInterval,
    staleIfErrorMs: v.jwksStaleIfError,
    failureBackoffMs: v.jwksFailureBackoff,
    timeoutMs: v.jwksFetchTimeout,
    maxBytes: v.jwksMaxBytes,
    maxEntries: v.jwksMaxUrls,
  };
  const within = (flag: string, value: number, min: number, max: number, show = formatDuration) => {
    if (value < min || value > max)
      throw new UsageError(`--${flag}: ${show(value)} is not between ${show(min)} and ${show(max)}`);
  };
  within('jwks-cache-min', o.minTtlMs, 1_000, 7 * DAY_MS);
  within('jwks-cache-max', o.maxTtlMs, o.minTtlMs, 7 * DAY_MS);
  within('jwks-cache-default', o.ttlMs, o.minTtlMs, o.maxTtlMs);
  within('jwks-refetch-interval', o.refetchIntervalMs, 1_000, DAY_MS);
  within('jwks-stale-if-error', o.staleIfErrorMs, 0, 7 * DAY_MS);
  within('jwks-failure-backoff', o.failureBackoffMs, 100, 3_600_000);
  within('jwks-fetch-timeout', o.timeoutMs, 100, 60_000);
  within('jwks-max-bytes', o.maxBytes, 1024, 16 * 1024 * 1024, String);
  within('jwks-max-urls', o.maxEntries, 1, 100_000, String);
  return o;
}

function extprocOptions(v: FlagValues<typeof flags>) {
  if ((v.xds === undefined) === (v.snapshot === undefined))
    throw new UsageError('give one of --snapshot FILE or --xds HOST:PORT');
  const xdsTls = xdsTlsConfig(v);
  if (xdsTls && v.xds === undefined) throw new UsageError('--xds-tls-* need --xds');
  if (v.workers === 0)
    throw new UsageError(
      '--workers is the number of processes serving the port (1 or more); the policy worker threads are --work-threads (0: inline)',
    );
  if (v.workers !== undefined && v.workers > MAX_WORKERS)
    throw new UsageError(`--workers: ${v.workers} is more than ${MAX_WORKERS} processes`);
  if (v.workers !== undefined && v.workers > 1 && v.redis === undefined)
    throw new UsageError(
      `--workers ${v.workers} needs --redis (or $GATEHOUSE_REDIS_URL): with in-memory stores every worker would count Quota, SpikeArrest and ConcurrentRatelimit on its own, ${v.workers} x the limit`,
    );
  if (v.maxConnectionAge > 0 && v.maxConnectionAge < 1000)
    throw new UsageError(
      `--max-connection-age: ${formatDuration(v.maxConnectionAge)} would end every connection almost at once; give 1s or more (0s: never)`,
    );
  if (v.maxConnectionAgeGrace > 0 && v.maxConnectionAge === 0)
    throw new UsageError('--max-connection-age-grace needs --max-connection-age');
  // Node fires a timer past 2^31-1 ms (24.8 days) at once: an age of 1000h would end every connection
  // at once. A day is far past the useful range (the DataPlane fields have the same bound).
  for (const [flag, ms] of [
    ['--max-connection-age', v.maxConnectionAge],
    ['--max-connection-age-grace', v.maxConnectionAgeGrace],
  ] as const)
    if (ms > MAX_CONNECTION_AGE_MS)
      throw new UsageError(`${flag}: ${formatDuration(ms)} is more than 24h; give 24h or less (0s: never)`);
  if ((v.otlpTlsCert === undefined) !== (v.otlpTlsKey === undefined))
    throw new UsageError('--otlp-tls-cert and --otlp-tls-key go together');
  if (v.otlpTlsCa === undefined && (v.otlpTlsCert !== undefined || v.otlpTlsServerName !== undefined))
    throw new UsageError('--otlp-tls-cert and --otlp-tls-server-name need --otlp-tls-ca');
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
    /** TLS to the OTLP collector (tracing), or undefined for plain text. */
    otlpTls:
      v.otlpTlsCa === undefined
        ? undefined
        : {
            caFile: v.otlpTlsCa,
            ...(v.otlpTlsCert !== undefined && v.otlpTlsKey !== undefined
              ? { certFile: v.otlpTlsCert, keyFile: v.otlpTlsKey }
              : {}),
          },
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
    /** keys/remote-key-sets.ts RemoteKeySetOptions. */
    remoteKeys: remoteKeyOptions(v),
    /** server/server.ts WorkOptions (the thread count only when given: the default is per machine). */
    work: {
      ...(v.workThreads !== undefined ? { workers: v.workThreads } : {}),
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
  usage:
    'gatehouse extproc (--snapshot FILE | --xds HOST:PORT) [--redis URL [--redis-mode MODE]] [--workers N] [--cache-dir DIR]',
  flags,
  options: extprocOptions,
  run: async (o) => (await import('./main.ts')).runExtproc(o),
});
