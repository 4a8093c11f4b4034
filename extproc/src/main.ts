// Entry point of `gatehouse extproc`: load the runtime snapshot (and keep reloading it), serve
// Envoy's ext_proc on --port and health/metrics on --metrics-port, drain on SIGTERM.
import type { Options } from '../../bin/cli.ts';
import { parsePort } from '../../bin/cli.ts';
import { NotAvailableError, UsageError } from '../../lib/errors.ts';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/log.ts';
import { FileSnapshotSource } from './config/file-source.ts';
import { SnapshotStore } from './config/snapshot-store.ts';
import { createHealthServer, listenHttp } from './server/http.ts';
import { ExtprocMetrics } from './server/metrics.ts';
import { createExtprocServer, DEFAULT_MAX_BODY_BYTES } from './server/server.ts';
import { createMemoryStores } from './stores/memory.ts';

function maxBodyBytes(value: string | boolean | undefined): number {
  if (typeof value !== 'string') return DEFAULT_MAX_BODY_BYTES;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`gatehouse extproc: --max-body-bytes: "${value}" is not a positive number of bytes`);
  return Number(value);
}

export async function runExtproc(options: Options): Promise<number> {
  if (options.xds !== undefined) {
    throw new NotAvailableError('gatehouse extproc --xds: the snapshot subscription over xDS is not built yet (issue: distribution); use --snapshot FILE');
  }
  if (options.redis !== undefined) {
    throw new NotAvailableError('gatehouse extproc --redis: Redis stores are not built yet (issue: traffic policies); omit it for in-memory stores');
  }
  if (typeof options.snapshot !== 'string') throw new UsageError('gatehouse extproc: --snapshot FILE is required (or --xds HOST:PORT, once available)');
  const port = parsePort('extproc', 'port', String(options.port ?? '9002'));
  const metricsPort = parsePort('extproc', 'metrics-port', String(options['metrics-port'] ?? '9003'));
  const log = createLogger('extproc');
  const lifecycle = new Lifecycle(log);
  const metrics = new ExtprocMetrics({ processMetrics: true });

  const snapshots = new SnapshotStore();
  snapshots.onChange((event) => {
    if (event.kind === 'applied') {
      metrics.snapshotApplied(event.snapshot.version);
      log.info({ version: event.snapshot.version, proxies: event.snapshot.routes.size }, 'runtime snapshot applied');
    } else {
      metrics.snapshotLoads.inc({ result: 'rejected' });
      log.error({ err: event.error.message, code: (event.error as { code?: string }).code }, 'runtime snapshot rejected; keeping the previous one');
    }
  });
  const source = new FileSnapshotSource({ path: options.snapshot });
  await source.start(snapshots);

  const stores = createMemoryStores();
  const server = createExtprocServer({ snapshots, stores, log, metrics, maxBodyBytes: maxBodyBytes(options['max-body-bytes']) });
  const health = createHealthServer(snapshots, metrics);
  const boundPort = await server.listen('0.0.0.0', port);
  const boundMetrics = await listenHttp(health, '0.0.0.0', metricsPort);
  log.info({ port: boundPort, metricsPort: boundMetrics, snapshot: options.snapshot }, 'extproc serving');

  // Closed newest first: health port last, so /healthz answers while streams drain.
  lifecycle.onStop('health server', () => new Promise<void>((resolve) => health.close(() => resolve())));
  lifecycle.onStop('stores', () => stores.close());
  lifecycle.onStop('snapshot source', () => source.stop());
  lifecycle.onStop('ext_proc server', () => server.shutdown());
  await lifecycle.handleSignals();
  log.info('extproc stopped');
  return 0;
}
