// Entry point of `gatehouse extproc`: load the runtime snapshot (a file, kept reloaded, or an xDS
// subscription with a last-good cache), serve Envoy's ext_proc on --port (TLS with --tls-cert, mutual
// with --tls-client-ca) and health/metrics on --metrics-port, drain on SIGTERM. Certificates are
// reloaded from their files (a mounted Secret) without a restart.
import type { Options } from '../../bin/cli.ts';
import { parsePort } from '../../bin/cli.ts';
import { UsageError } from '../../lib/errors.ts';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { clientTlsFromFlags, serverTlsFromFlags, startClientTls, startServerTls } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { FileSnapshotSource } from './config/file-source.ts';
import { SnapshotStore } from './config/snapshot-store.ts';
import { XdsSnapshotSource } from './config/xds-source.ts';
import { createHealthServer, listenHttp } from './server/http.ts';
import { ExtprocMetrics } from './server/metrics.ts';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './server/limits.ts';
import { createExtprocServer, DEFAULT_MAX_BODY_BYTES, DEFAULT_WORK, type WorkOptions } from './server/server.ts';
import { createMemoryStores } from './stores/memory.ts';
import { createRedisStores } from './stores/redis.ts';
import type { Stores } from './stores/types.ts';

function maxBodyBytes(value: string | boolean | undefined): number {
  if (typeof value !== 'string') return DEFAULT_MAX_BODY_BYTES;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`gatehouse extproc: --max-body-bytes: "${value}" is not a positive number of bytes`);
  return Number(value);
}

function positiveInt(flag: string, value: string | boolean | undefined, fallback: number): number {
  if (typeof value !== 'string') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`gatehouse extproc: --${flag}: "${value}" is not a positive whole number`);
  return Number(value);
}

function wholeNumber(flag: string, value: string | boolean | undefined, fallback: number): number {
  if (typeof value !== 'string') return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`gatehouse extproc: --${flag}: "${value}" is not a whole number`);
  return Number(value);
}

/** The stream bounds of the flags (server/limits.ts). */
export function streamLimits(options: Options): StreamLimits {
  const d = DEFAULT_STREAM_LIMITS;
  return {
    maxBodyBytes: maxBodyBytes(options['max-body-bytes']),
    maxHeadersCount: positiveInt('max-headers-count', options['max-headers-count'], d.maxHeadersCount),
    maxHeadersBytes:
      1024 * positiveInt('max-request-headers-kb', options['max-request-headers-kb'], d.maxHeadersBytes / 1024),
    streamIdleTimeoutMs: positiveInt(
      'stream-idle-timeout-ms',
      options['stream-idle-timeout-ms'],
      d.streamIdleTimeoutMs,
    ),
    maxStreams: positiveInt('max-streams', options['max-streams'], d.maxStreams),
    maxConnectionStreams: wholeNumber(
      'max-connection-streams',
      options['max-connection-streams'],
      d.maxConnectionStreams,
    ),
    maxBufferedBodyBytes: positiveInt(
      'max-buffered-body-bytes',
      options['max-buffered-body-bytes'],
      d.maxBufferedBodyBytes,
    ),
  };
}

/** Where policy work on large bodies runs (server.ts WorkOptions). */
export function workOptions(options: Options): WorkOptions {
  const d = DEFAULT_WORK;
  return {
    workers: wholeNumber('workers', options.workers, d.workers),
    queue: wholeNumber('work-queue', options['work-queue'], d.queue),
    budgetMs: positiveInt('work-budget-ms', options['work-budget-ms'], d.budgetMs),
    minBytes: wholeNumber('offload-min-bytes', options['offload-min-bytes'], d.minBytes),
    maxHeapMb: d.maxHeapMb,
  };
}

function oneOf<T extends string>(flag: string, value: string | boolean | undefined, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`gatehouse extproc: --${flag}: "${String(value)}" is not one of ${allowed.join(', ')}`);
}

/** Redis stores when a URL is given (flag or $GATEHOUSE_REDIS_URL), else in-memory ones. */
async function createStores(options: Options, log: Logger, metrics: ExtprocMetrics): Promise<Stores> {
  const url = typeof options.redis === 'string' ? options.redis : process.env.GATEHOUSE_REDIS_URL;
  if (!url) return createMemoryStores();
  return createRedisStores({
    url,
    mode: oneOf('redis-mode', options['redis-mode'] ?? 'Standalone', ['Standalone', 'Sentinel', 'Cluster'] as const),
    onUnavailable: oneOf('redis-on-unavailable', options['redis-on-unavailable'] ?? 'FailClosed', [
      'FailClosed',
      'LocalFallback',
    ] as const),
    deadlineMs: positiveInt('redis-deadline-ms', options['redis-deadline-ms'], 75),
    replicas: positiveInt('replicas', options.replicas, 1),
    region: typeof options.region === 'string' ? options.region : 'default',
    log,
    registry: metrics.registry,
  });
}

/** The xDS node identity: --node-id (else the source's default) and --node-cluster. */
export function xdsNode(options: Options): { nodeId?: string; cluster?: string } {
  const value = (flag: string) => {
    const v = options[flag];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '')
      throw new UsageError(`gatehouse extproc: --${flag}: must not be empty`);
    return v;
  };
  const nodeId = value('node-id');
  const cluster = value('node-cluster');
  return { ...(nodeId !== undefined ? { nodeId } : {}), ...(cluster !== undefined ? { cluster } : {}) };
}

export async function runExtproc(options: Options): Promise<number> {
  const xds = typeof options.xds === 'string' ? options.xds : undefined;
  const snapshotFile = typeof options.snapshot === 'string' ? options.snapshot : undefined;
  if ((xds === undefined) === (snapshotFile === undefined))
    throw new UsageError('gatehouse extproc: give one of --snapshot FILE or --xds HOST:PORT');
  if (xds !== undefined && !/^[^\s:]+:\d+$|^\[[^\]]+\]:\d+$/.test(xds))
    throw new UsageError(`gatehouse extproc: --xds: "${xds}" is not HOST:PORT`);
  const port = parsePort('extproc', 'port', String(options.port ?? '9002'));
  const metricsPort = parsePort('extproc', 'metrics-port', String(options['metrics-port'] ?? '9003'));
  const limits = streamLimits(options);
  const work = workOptions(options);
  const serverTlsConfig = serverTlsFromFlags('extproc', options);
  const xdsTlsConfig = clientTlsFromFlags('extproc', options, 'xds-tls');
  if (xdsTlsConfig && xds === undefined) throw new UsageError('gatehouse extproc: --xds-tls-* need --xds');
  const log = createLogger('extproc');
  const lifecycle = new Lifecycle(log);
  const metrics = new ExtprocMetrics({ processMetrics: true });
  // Files are checked before anything starts: a process without its certificate does not come up.
  const serverTls = serverTlsConfig ? startServerTls(serverTlsConfig, log, 'ext_proc server') : undefined;
  const xdsTls = xdsTlsConfig ? startClientTls(xdsTlsConfig, log, 'xDS client') : undefined;
  const stores = await createStores(options, log, metrics);

  const snapshots = new SnapshotStore();
  snapshots.onChange((event) => {
    if (event.kind === 'applied') {
      metrics.snapshotApplied(event.snapshot.version);
      log.info({ version: event.snapshot.version, proxies: event.snapshot.routes.size }, 'runtime snapshot applied');
    } else {
      metrics.snapshotLoads.inc({ result: 'rejected' });
      log.error(
        { err: event.error.message, code: (event.error as { code?: string }).code },
        'runtime snapshot rejected; keeping the previous one',
      );
    }
  });
  const cacheDir = typeof options['cache-dir'] === 'string' ? options['cache-dir'] : undefined;
  const source =
    xds !== undefined
      ? new XdsSnapshotSource({
          address: xds,
          cacheDir,
          log,
          ...xdsNode(options),
          ...(xdsTls ? { credentials: grpcChannelCredentials(xdsTls.options) } : {}),
        })
      : new FileSnapshotSource({ path: snapshotFile! });
  await source.start(snapshots);

  const server = createExtprocServer({
    snapshots,
    stores,
    log,
    metrics,
    limits,
    work,
    ...(serverTls ? { tls: serverTls } : {}),
  });
  const health = createHealthServer(snapshots, metrics, () =>
    source instanceof XdsSnapshotSource ? source.describe() : undefined,
  );
  const boundPort = await server.listen('0.0.0.0', port);
  const boundMetrics = await listenHttp(health, '0.0.0.0', metricsPort);
  log.info(
    {
      port: boundPort,
      metricsPort: boundMetrics,
      snapshot: snapshotFile,
      xds,
      cacheDir,
      origin: source instanceof XdsSnapshotSource ? source.state().origin : 'file',
      tls: serverTls ? (serverTls.clientAuth === 'required' ? 'mutual' : 'server') : 'off',
      workers: work.workers,
      limits,
      xdsTls: xdsTls ? (xdsTlsConfig?.certFile ? 'mutual' : 'server') : 'off',
    },
    'extproc serving',
  );

  // Closed newest first: health port last, so /healthz answers while streams drain.
  lifecycle.onStop('TLS file watchers', () => {
    serverTls?.watcher.close();
    xdsTls?.watcher.close();
  });
  lifecycle.onStop('health server', () => new Promise<void>((resolve) => health.close(() => resolve())));
  lifecycle.onStop('stores', () => stores.close());
  lifecycle.onStop('snapshot source', () => source.stop());
  lifecycle.onStop('ext_proc server', () => server.shutdown());
  await lifecycle.handleSignals();
  log.info('extproc stopped');
  return 0;
}
