// The primary of `gatehouse extproc --workers N` (docs/architecture.md#workers). It holds what there is
// one of per pod: the snapshot subscription (one xDS node, as the operator counts and ACKs per node id)
// with --cache-dir, and the health port. It starts N workers with node:cluster, which share --port
// (the primary accepts and hands connections round-robin on Linux), hands each of them every snapshot
// it has accepted (the bytes of gatehouse.v1.RuntimeSnapshot over IPC), answers /metrics with the sum
// over the workers, restarts a worker that dies (with backoff, counted), and on SIGTERM drains them all.
//
// ACK: the primary loads a snapshot with the code the workers run (decode, compile every proxy) before
// it ACKs or NACKs, and only then hands it on: a worker receives only snapshots that loaded. It does not
// wait for the workers to ACK: their load of the same bytes can fail only for a fault of that process,
// which is logged, counted (gatehouse_extproc_worker_snapshot_failures_total) and visible per worker
// (gatehouse_extproc_worker_snapshot_info), while coupling the xDS ACK to N processes would hold the
// pod's reported version on its slowest worker and on a restarting one.
import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge } from 'prom-client';
import { formatHostPort } from '../../../lib/cli/flags.ts';
import { Lifecycle } from '../../../lib/lifecycle.ts';
import type { Logger } from '../../../lib/log.ts';
import { startClientTls } from '../../../lib/tls/flags.ts';
import type { ExtprocOptions } from '../command.ts';
import { encodeRuntimeSnapshot } from '../config/decode.ts';
import type { LoadedSnapshot } from '../config/snapshot.ts';
import { SnapshotStore } from '../config/snapshot-store.ts';
import { XdsSnapshotSource } from '../config/xds-source.ts';
import { snapshotSource, watchSnapshots } from '../main.ts';
import { listenHttp } from '../server/http.ts';
import { ExtprocMetrics } from '../server/metrics.ts';
import type { WorkerCountChoice } from './cpu-quota.ts';
import { aggregateMetrics } from './metrics.ts';
import { isMessage, WORKER_ENV, type FromWorker, type ToWorker } from './protocol.ts';

const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A worker that lived this long starts its next restart from the base delay again. */
const RESTART_RESET_MS = 60_000;
const SCRAPE_TIMEOUT_MS = 2_000;
/**
 * A worker that dies this many times in a row before it ever served cannot start (a TLS file it
 * cannot read, a bad option): the primary stops and exits 1, as one process would with the error,
 * rather than restarting it forever behind a pod that never gets ready.
 */
const MAX_START_FAILURES = 3;

interface Slot {
  readonly id: number;
  worker: Worker | undefined;
  /** Said hello: messages reach it. */
  hello: boolean;
  /** Listening with a snapshot. */
  serving: boolean;
  version: string | undefined;
  startedAt: number;
  /** Restarts in a row without RESTART_RESET_MS of life between them. */
  failures: number;
  /** Deaths in a row before serving (MAX_START_FAILURES). */
  startFailures: number;
  restart: NodeJS.Timeout | undefined;
}

export async function runPrimary(o: ExtprocOptions, choice: WorkerCountChoice, baseLog: Logger): Promise<number> {
  const log = baseLog.child({ worker: 0 });
  const count = choice.workers;
  const lifecycle = new Lifecycle(log);
  const metrics = new ExtprocMetrics({ processMetrics: true, maxProxies: o.metricsMaxProxies });
  const restarts = new Counter({
    name: 'gatehouse_extproc_worker_restarts_total',
    help: 'workers (--workers) restarted after they died',
    registers: [metrics.registry],
  });
  const snapshotFailures = new Counter({
    name: 'gatehouse_extproc_worker_snapshot_failures_total',
    help: 'snapshots the primary accepted that a worker could not apply (it keeps its previous one)',
    registers: [metrics.registry],
  });
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    worker: undefined,
    hello: false,
    serving: false,
    version: undefined,
    startedAt: 0,
    failures: 0,
    startFailures: 0,
    restart: undefined,
  }));
  new Gauge({
    name: 'gatehouse_extproc_workers',
    help: 'worker processes by state: serving (listening with a snapshot) or starting',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect() {
      const serving = slots.filter((s) => s.serving).length;
      this.set({ state: 'serving' }, serving);
      this.set({ state: 'starting' }, slots.filter((s) => s.worker && !s.serving).length);
    },
  });

  const xdsTls = o.xdsTls ? startClientTls(o.xdsTls, log, 'xDS client') : undefined;
  const snapshots = new SnapshotStore();
  watchSnapshots(snapshots, metrics, log);
  let current: { version: string; bytes: Uint8Array } | undefined;
  const handOver = (snapshot: LoadedSnapshot) => {
    current = { version: snapshot.version, bytes: encodeRuntimeSnapshot(snapshot.message) };
    for (const slot of slots) sendTo(slot, { type: 'gatehouse:snapshot', ...current });
  };
  snapshots.onChange((event) => {
    if (event.kind === 'applied') handOver(event.snapshot);
  });

  let stopping = false;
  /** Resolved when a worker cannot start: the primary then stops and exits 1. */
  let startFailed!: () => void;
  const cannotStart = new Promise<void>((resolve) => (startFailed = resolve));
  let port: number | undefined;
  /** Every worker has served once: from then on the pod is ready while any one serves. */
  let allServedOnce = false;
  const scrapes = new Map<number, { pending: Set<number>; results: unknown[]; done: () => void }>();
  let scrapeId = 0;

  const sendTo = (slot: Slot, message: ToWorker) => {
    if (slot.hello && slot.worker?.isConnected()) slot.worker.send(message);
  };

  cluster.setupPrimary({
    exec: fileURLToPath(new URL('./worker-main.ts', import.meta.url)),
    serialization: 'advanced',
  });

  const fork = (slot: Slot) => {
    slot.restart = undefined;
    if (stopping) return;
    const worker = cluster.fork({ [WORKER_ENV]: String(slot.id) });
    slot.worker = worker;
    slot.hello = false;
    slot.serving = false;
    slot.version = undefined;
    slot.startedAt = Date.now();
    worker.on('message', (message: unknown) => {
      if (!isMessage<FromWorker>(message)) return;
      switch (message.type) {
        case 'gatehouse:hello':
          // The worker listens now: its options, then the snapshot of the moment (later ones follow).
          slot.hello = true;
          sendTo(slot, { type: 'gatehouse:start', options: o, worker: slot.id, replicas: o.replicas * count });
          if (current) sendTo(slot, { type: 'gatehouse:snapshot', ...current });
          break;
        case 'gatehouse:serving':
          slot.serving = true;
          slot.startFailures = 0;
          if (port === undefined) {
            port = message.port;
            log.info({ port, workers: count }, 'workers serving');
          }
          if (slots.every((s) => s.serving)) allServedOnce = true;
          break;
        case 'gatehouse:applied':
          slot.version = message.version;
          break;
        case 'gatehouse:rejected':
          snapshotFailures.inc();
          log.error(
            { worker: slot.id, version: message.version, err: message.error },
            'a worker did not apply the snapshot',
          );
          break;
        case 'gatehouse:metrics': {
          const scrape = scrapes.get(message.id);
          if (!scrape?.pending.delete(slot.id)) break;
          scrape.results.push(message.metrics);
          if (scrape.pending.size === 0) scrape.done();
          break;
        }
      }
    });
    worker.on('exit', (code, signal) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      const served = slot.serving;
      slot.serving = false;
      for (const scrape of scrapes.values())
        if (scrape.pending.delete(slot.id) && scrape.pending.size === 0) scrape.done();
      if (stopping) return;
      slot.startFailures = served ? 0 : slot.startFailures + 1;
      if (slot.startFailures >= MAX_START_FAILURES) {
        log.error(
          { worker: slot.id, pid: worker.process.pid, code, signal, attempts: slot.startFailures },
          'a worker died before serving, again and again: it cannot start; stopping (its own log lines say why)',
        );
        startFailed();
        return;
      }
      restarts.inc();
      slot.failures = Date.now() - slot.startedAt >= RESTART_RESET_MS ? 0 : slot.failures + 1;
      const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.max(0, slot.failures - 1));
      log.error(
        { worker: slot.id, pid: worker.process.pid, code, signal, restartInMs: delay },
        'worker died; restarting it',
      );
      slot.restart = setTimeout(() => fork(slot), delay);
    });
  };

  /** The workers' registries summed (counters, gauges, histogram buckets), the primary's own series added. */
  const aggregated = async (): Promise<string> => {
    const id = ++scrapeId;
    const live = slots.filter((s) => s.hello && s.worker?.isConnected());
    const results: unknown[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SCRAPE_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      scrapes.set(id, { pending: new Set(live.map((s) => s.id)), results, done });
      if (live.length === 0) done();
      for (const slot of live) sendTo(slot, { type: 'gatehouse:metrics', id });
    });
    scrapes.delete(id);
    return aggregateMetrics(await metrics.registry.getMetricsAsJSON(), results);
  };

  const readiness = (): [boolean, string] => {
    const snapshot = snapshots.current();
    if (!snapshot) return [false, 'no runtime snapshot loaded\n'];
    const serving = slots.filter((s) => s.serving).length;
    const ready = allServedOnce ? serving > 0 : serving === count;
    const note = source instanceof XdsSnapshotSource ? source.describe() : undefined;
    return [
      ready,
      `${ready ? 'ready' : 'not ready'}: snapshot ${snapshot.version}${note ? ` (${note})` : ''}, workers serving ${serving}/${count}\n`,
    ];
  };

  const health: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const [ready, text] = readiness();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(text);
    } else if (path === '/metrics') {
      aggregated().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => {
          log.error({ err: err.message }, 'cannot aggregate the workers metrics');
          res.writeHead(500).end();
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });

  // Workers start loading their modules while the subscription comes up.
  for (const slot of slots) fork(slot);
  const source = snapshotSource(o, log, xdsTls);
  await source.start(snapshots);
  const metricsPort = await listenHttp(health, '0.0.0.0', o.metricsPort);
  log.info(
    {
      port: o.port,
      metricsPort,
      workers: count,
      workersWhy: choice.reason,
      snapshot: o.snapshot,
      xds: o.xds === undefined ? undefined : formatHostPort(o.xds),
      cacheDir: o.cacheDir,
      origin: source instanceof XdsSnapshotSource ? source.state().origin : 'file',
    },
    'extproc primary started',
  );

  // Closed newest first: the workers drain, then the subscription, then the health port.
  lifecycle.onStop('health server', () => new Promise<void>((resolve) => health.close(() => resolve())));
  lifecycle.onStop('TLS file watchers', () => xdsTls?.watcher.close());
  lifecycle.onStop('snapshot source', () => source.stop());
  lifecycle.onStop('workers', async () => {
    stopping = true;
    const exits: Promise<void>[] = [];
    for (const slot of slots) {
      clearTimeout(slot.restart);
      const worker = slot.worker;
      if (!worker || worker.isDead()) continue;
      exits.push(new Promise<void>((resolve) => worker.once('exit', () => resolve())));
      worker.process.kill('SIGTERM');
    }
    await Promise.all(exits);
  });
  const failed = await Promise.race([
    lifecycle.handleSignals().then(() => false),
    cannotStart.then(async () => {
      await lifecycle.stop();
      return true;
    }),
  ]);
  log.info('extproc stopped');
  return failed ? 1 : 0;
}
