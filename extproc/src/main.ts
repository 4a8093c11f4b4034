// Entry point of `gatehouse extproc`: load the runtime snapshot (a file, kept reloaded, or an xDS
// subscription with a last-good cache), serve Envoy's ext_proc on --port (TLS with --tls-cert, mutual
// with --tls-client-ca) and health/metrics on --metrics-port, drain on SIGTERM. Certificates are
// reloaded from their files (a mounted Secret) without a restart.
import { formatHostPort } from '../../lib/cli/flags.ts';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { registerTracingMetrics, startTracing } from '../../lib/tracing.ts';
import { startClientTls, startServerTls } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import type { ExtprocOptions } from './command.ts';
import { FileSnapshotSource } from './config/file-source.ts';
import { SnapshotStore } from './config/snapshot-store.ts';
import { XdsSnapshotSource } from './config/xds-source.ts';
import { createHealthServer, listenHttp } from './server/http.ts';
import { ExtprocMetrics } from './server/metrics.ts';
import { EgressClient } from './egress/client.ts';
import { closePythonPool, configurePythonPool } from './policies/extension/python/pool.ts';
import { RemoteKeySetCache } from './keys/remote-key-sets.ts';
import { createExtprocServer } from './server/server.ts';
import { StreamTracer } from './tracing/stream-tracer.ts';
import { createMemoryStores } from './stores/memory.ts';
import { createRedisStores } from './stores/redis.ts';
import type { Stores } from './stores/types.ts';

/** Redis stores when a URL is given (--redis or $GATEHOUSE_REDIS_URL), else in-memory ones. */
async function createStores(o: ExtprocOptions, log: Logger, metrics: ExtprocMetrics): Promise<Stores> {
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

export async function runExtproc(o: ExtprocOptions): Promise<number> {
  const xds = o.xds === undefined ? undefined : formatHostPort(o.xds);
  const log = createLogger('extproc');
  const lifecycle = new Lifecycle(log);
  configurePythonPool({ size: o.pythonWorkers, waitMs: o.workBudgetMs, log: log.child({ component: 'python' }) });
  const metrics = new ExtprocMetrics({ processMetrics: true, maxProxies: o.metricsMaxProxies });
  // Files are checked before anything starts: a process without its certificate does not come up.
  const serverTls = o.tls ? startServerTls(o.tls, log, 'ext_proc server') : undefined;
  const xdsTls = o.xdsTls ? startClientTls(o.xdsTls, log, 'xDS client') : undefined;
  const stores = await createStores(o, log, metrics);
  // Tracing loads the OpenTelemetry SDK only when asked for (docs/operations.md#tracing).
  const tracing =
    o.otlpEndpoint === undefined
      ? undefined
      : await startTracing({ endpoint: o.otlpEndpoint, serviceName: 'gatehouse-extproc', rootSamplingPercent: 0 });
  if (tracing) registerTracingMetrics(metrics.registry, 'gatehouse_extproc', tracing.counters);

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
  const cacheDir = o.cacheDir;
  const source =
    xds !== undefined
      ? new XdsSnapshotSource({
          address: xds,
          cacheDir,
          log,
          ...xdsNode(o),
          ...(xdsTls ? { credentials: grpcChannelCredentials(xdsTls.options) } : {}),
        })
      : new FileSnapshotSource({ path: o.snapshot! });
  await source.start(snapshots);

  const egress = new EgressClient({ log, onOutcome: (outcome) => metrics.egressRequests.inc({ outcome }) });
  const server = createExtprocServer({
    snapshots,
    stores,
    keys: new RemoteKeySetCache({ log }),
    egress,
    log,
    metrics,
    limits: o.limits,
    work: o.work,
    transport: o.transport,
    ...(serverTls ? { tls: serverTls } : {}),
    ...(tracing ? { tracer: new StreamTracer(tracing) } : {}),
  });
  const health = createHealthServer(snapshots, metrics, () =>
    source instanceof XdsSnapshotSource ? source.describe() : undefined,
  );
  const boundPort = await server.listen('0.0.0.0', o.port);
  const boundMetrics = await listenHttp(health, '0.0.0.0', o.metricsPort);
  log.info(
    {
      port: boundPort,
      metricsPort: boundMetrics,
      snapshot: o.snapshot,
      xds,
      cacheDir,
      origin: source instanceof XdsSnapshotSource ? source.state().origin : 'file',
      tls: serverTls ? (serverTls.clientAuth === 'required' ? 'mutual' : 'server') : 'off',
      xdsTls: xdsTls ? (o.xdsTls?.certFile ? 'mutual' : 'server') : 'off',
      workers: server.pool?.size ?? 0,
      transport: server.transport,
      limits: o.limits,
      tracing: o.otlpEndpoint ?? 'off',
    },
    'extproc serving',
  );

  // Closed newest first: health port last, so /healthz answers while streams drain; spans after the streams.
  if (tracing) lifecycle.onStop('tracing', () => tracing.shutdown());
  lifecycle.onStop('TLS file watchers', () => {
    serverTls?.watcher.close();
    xdsTls?.watcher.close();
  });
  lifecycle.onStop('health server', () => new Promise<void>((resolve) => health.close(() => resolve())));
  lifecycle.onStop('stores', () => stores.close());
  lifecycle.onStop('snapshot source', () => source.stop());
  lifecycle.onStop('egress connection pools', () => egress.close());
  lifecycle.onStop('python script workers', () => closePythonPool());
  lifecycle.onStop('ext_proc server', () => server.shutdown());
  await lifecycle.handleSignals();
  log.info('extproc stopped');
  return 0;
}
