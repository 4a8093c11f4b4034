// Entry point of `gatehouse extproc`: load the runtime snapshot (a file, kept reloaded, or an xDS
// subscription with a last-good cache), serve Envoy's ext_proc on --port (TLS with --tls-cert, mutual
// with --tls-client-ca) and health/metrics on --metrics-port, drain on SIGTERM. Certificates are
// reloaded from their files (a mounted Secret) without a restart. With --workers N > 1 the process is
// the primary of N workers that each run serveExtproc (cluster/primary.ts, docs/architecture.md#workers).
import { formatHostPort } from '../../lib/cli/flags.ts';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { registerTracingMetrics, startTracing } from '../../lib/tracing.ts';
import { startClientTls, startServerTls } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { MAX_DEFAULT_WORKERS, type ExtprocOptions } from './command.ts';
import { FileSnapshotSource } from './config/file-source.ts';
import { SnapshotStore } from './config/snapshot-store.ts';
import { defaultNodeId, XdsSnapshotSource } from './config/xds-source.ts';
import { startDebugCapture } from './debug/capture.ts';
import type { SnapshotSource } from './config/snapshot-store.ts';
import { cgroupCpuQuota, defaultWorkerCount } from './cluster/cpu-quota.ts';
import { createHealthServer, listenHttp } from './server/http.ts';
import { ExtprocMetrics } from './server/metrics.ts';
import { EgressClient } from './egress/client.ts';
import { closePythonPool, configurePythonPool } from './policies/extension/python/pool.ts';
import { RemoteKeySetCache } from './keys/remote-key-sets.ts';
import { createExtprocServer } from './server/server.ts';
import { StreamTracer } from './tracing/stream-tracer.ts';
import { AnalyticsRecorder, analyticsCounters, followSnapshots } from './analytics/recorder.ts';
import { createMemoryStores } from './stores/memory.ts';
import { createRedisStores } from './stores/redis.ts';
import type { Stores } from './stores/types.ts';

/** Redis stores when a URL is given (--redis or $GATEHOUSE_REDIS_URL), else in-memory ones. */
async function createStores(
  o: Pick<ExtprocOptions, 'redis' | 'redisMode' | 'redisOnUnavailable' | 'redisDeadlineMs' | 'replicas' | 'region'>,
  log: Logger,
  metrics: ExtprocMetrics,
): Promise<Stores> {
  if (o.redis === undefined) return createMemoryStores();
  return createRedisStores({
    url: o.redis,
    mode: o.redisMode,
    onUnavailable: o.redisOnUnavailable,
    deadlineMs: o.redisDeadlineMs,
    replicas: o.replicas,
    region: o.region,
    log,
    registry: metrics.registry,
  });
}

/** The xDS node identity: --node-id (else the source's default) and --node-cluster. */
export function xdsNode(o: Pick<ExtprocOptions, 'nodeId' | 'nodeCluster'>): { nodeId?: string; cluster: string } {
  return { ...(o.nodeId !== undefined ? { nodeId: o.nodeId } : {}), cluster: o.nodeCluster };
}

/** Where a serving process gets its snapshot and whether it has the health port (cluster/worker.ts). */
export interface ServeRole {
  log: Logger;
  lifecycle: Lifecycle;
  metrics: ExtprocMetrics;
  /** The snapshot source; undefined: --snapshot or --xds, as in one process. */
  source?: SnapshotSource;
  /** Serve /healthz, /readyz, /metrics on --metrics-port (the primary does for its workers). */
  health: boolean;
  /** Resolves when the process may listen (a worker waits for its first snapshot). */
  beforeListen?: () => Promise<void>;
  /** Told the bound port once the server listens. */
  onListening?: (port: number) => void;
  /** Redis replicas sharing each limit under LocalFallback: --replicas times the processes of a pod. */
  replicas?: number;
  /** Fields of the "extproc serving" line. */
  logFields?: Record<string, unknown>;
}

export async function runExtproc(o: ExtprocOptions): Promise<number> {
  const log = createLogger('extproc');
  const choice =
    o.workers !== undefined
      ? { workers: o.workers, reason: '--workers' }
      : defaultWorkerCount({ redis: o.redis !== undefined, max: MAX_DEFAULT_WORKERS, quota: cgroupCpuQuota() });
  // More than one: node:cluster, the primary holding the subscription (docs/architecture.md#workers).
  if (choice.workers > 1) return (await import('./cluster/primary.ts')).runPrimary(o, choice, log);
  const metrics = new ExtprocMetrics({ processMetrics: true, maxProxies: o.metricsMaxProxies });
  await serveExtproc(o, {
    log,
    lifecycle: new Lifecycle(log),
    metrics,
    health: true,
    logFields: { processes: 1, processesWhy: choice.reason },
  });
  log.info('extproc stopped');
  return 0;
}

/** Starts serving as one process or one worker; resolves when a signal has stopped it. */
export async function serveExtproc(o: ExtprocOptions, role: ServeRole): Promise<void> {
  const xds = o.xds === undefined ? undefined : formatHostPort(o.xds);
  const { log, lifecycle, metrics } = role;
  configurePythonPool({ size: o.pythonWorkers, waitMs: o.workBudgetMs, log: log.child({ component: 'python' }) });
  // Files are checked before anything starts: a process without its certificate does not come up.
  const serverTls = o.tls ? startServerTls(o.tls, log, 'ext_proc server') : undefined;
  const xdsTls = !role.source && o.xdsTls ? startClientTls(o.xdsTls, log, 'xDS client') : undefined;
  const stores = await createStores(role.replicas !== undefined ? { ...o, replicas: role.replicas } : o, log, metrics);
  // Tracing loads the OpenTelemetry SDK only when asked for (docs/operations.md#tracing).
  const otlpTls =
    o.otlpTls && o.otlpEndpoint !== undefined ? startClientTls(o.otlpTls, log, 'OTLP collector') : undefined;
  const tracing =
    o.otlpEndpoint === undefined
      ? undefined
      : await startTracing({
          endpoint: o.otlpEndpoint,
          serviceName: 'gatehouse-extproc',
          rootSamplingPercent: 0,
          ...(otlpTls
            ? {
                credentials: grpcChannelCredentials({
                  ...otlpTls.options,
                  ...(o.otlpTlsServerName !== undefined ? { serverName: o.otlpTlsServerName } : {}),
                }),
              }
            : {}),
        });
  if (tracing) registerTracingMetrics(metrics.registry, 'gatehouse_extproc', tracing.counters);

  // Debug sessions report to the operator on the xDS address and TLS, from every serving process (a
  // worker too: the operator knows the pod's node id from the primary's ADS stream); with --snapshot
  // there is no operator, and no capture is taken (docs/operations.md#debug-sessions).
  const reportTls =
    xds !== undefined && o.xdsTls ? (xdsTls ?? startClientTls(o.xdsTls, log, 'debug capture client')) : undefined;
  const debug =
    xds !== undefined
      ? startDebugCapture({
          address: xds,
          nodeId: o.nodeId ?? defaultNodeId(),
          metrics,
          log: log.child({ component: 'debug' }),
          ...(reportTls ? { credentials: grpcChannelCredentials(reportTls.options) } : {}),
        })
      : undefined;

  const snapshots = new SnapshotStore();
  watchSnapshots(snapshots, metrics, log);
  // Analytics (docs/operations.md#analytics): configured by each snapshot's DataPlane; off without one.
  const analytics = new AnalyticsRecorder({
    log: log.child({ component: 'analytics' }),
    counters: analyticsCounters(metrics.registry),
  });
  followSnapshots(snapshots, analytics);
  const cacheDir = o.cacheDir;
  const source = role.source ?? snapshotSource(o, log, xdsTls);
  await source.start(snapshots);

  const egress = new EgressClient({ log, onOutcome: (outcome) => metrics.egressRequests.inc({ outcome }) });
  const server = createExtprocServer({
    snapshots,
    stores,
    keys: new RemoteKeySetCache({ log, ...o.remoteKeys }),
    egress,
    log,
    metrics,
    limits: o.limits,
    work: o.work,
    transport: o.transport,
    maxConnectionAgeMs: o.maxConnectionAge,
    maxConnectionAgeGraceMs: o.maxConnectionAgeGrace,
    ...(serverTls ? { tls: serverTls } : {}),
    ...(tracing ? { tracer: new StreamTracer(tracing) } : {}),
    ...(debug ? { debug: debug.capture } : {}),
    analytics,
  });
  const health = role.health
    ? createHealthServer(snapshots, metrics, () =>
        source instanceof XdsSnapshotSource ? source.describe() : undefined,
      )
    : undefined;
  // Closed newest first: health port last, so /healthz answers while streams drain; spans after the streams.
  if (tracing) lifecycle.onStop('tracing', () => tracing.shutdown());
  lifecycle.onStop('analytics', () => analytics.close());
  lifecycle.onStop('TLS file watchers', () => {
    serverTls?.watcher.close();
    xdsTls?.watcher.close();
    otlpTls?.watcher.close();
    if (reportTls !== xdsTls) reportTls?.watcher.close();
  });
  if (health) lifecycle.onStop('health server', () => new Promise<void>((resolve) => health.close(() => resolve())));
  lifecycle.onStop('stores', () => stores.close());
  lifecycle.onStop('snapshot source', () => source.stop());
  if (debug) lifecycle.onStop('debug capture reporter', () => debug.reporter.close());
  lifecycle.onStop('egress connection pools', () => egress.close());
  lifecycle.onStop('python script workers', () => closePythonPool());
  lifecycle.onStop('ext_proc server', () => server.shutdown());
  const stopped = lifecycle.handleSignals();

  await role.beforeListen?.();
  const boundPort = await server.listen('0.0.0.0', o.port);
  role.onListening?.(boundPort);
  const boundMetrics = health ? await listenHttp(health, '0.0.0.0', o.metricsPort) : undefined;
  log.info(
    {
      port: boundPort,
      metricsPort: boundMetrics,
      snapshot: o.snapshot,
      xds,
      cacheDir,
      origin: source instanceof XdsSnapshotSource ? source.state().origin : role.source ? 'primary' : 'file',
      tls: serverTls ? (serverTls.clientAuth === 'required' ? 'mutual' : 'server') : 'off',
      xdsTls: xdsTls ? (o.xdsTls?.certFile ? 'mutual' : 'server') : 'off',
      workThreads: server.pool?.size ?? 0,
      transport: server.transport,
      limits: o.limits,
      tracing: o.otlpEndpoint ?? 'off',
      ...role.logFields,
    },
    'extproc serving',
  );
  await stopped;
}

/** Logs and counts every snapshot applied or rejected. */
export function watchSnapshots(snapshots: SnapshotStore, metrics: ExtprocMetrics, log: Logger): void {
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
}

/** --xds (with its TLS) or --snapshot. */
export function snapshotSource(
  o: ExtprocOptions,
  log: Logger,
  xdsTls: ReturnType<typeof startClientTls> | undefined,
): FileSnapshotSource | XdsSnapshotSource {
  if (o.xds === undefined) return new FileSnapshotSource({ path: o.snapshot! });
  return new XdsSnapshotSource({
    address: formatHostPort(o.xds),
    cacheDir: o.cacheDir,
    log,
    ...xdsNode(o),
    ...(xdsTls ? { credentials: grpcChannelCredentials(xdsTls.options) } : {}),
  });
}
