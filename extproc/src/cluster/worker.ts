// One worker of `gatehouse extproc --workers N`: the same ext_proc server as a single process
// (main.ts serveExtproc), with its snapshot from the primary instead of a subscription of its own,
// no health port (the primary serves /healthz, /readyz and the aggregated /metrics), and the port
// shared through node:cluster once its first snapshot is in (docs/architecture.md#workers).
import { Counter, Gauge } from 'prom-client';
import { Lifecycle } from '../../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../../lib/log.ts';
import { RuntimeSnapshotDecoder } from '../config/decode.ts';
import { defaultCatalog, loadSnapshot, type LoadedSnapshot } from '../config/snapshot.ts';
import type { SnapshotSink, SnapshotSource } from '../config/snapshot-store.ts';
import { serveExtproc } from '../main.ts';
import { ExtprocMetrics } from '../server/metrics.ts';
import { isMessage, type FromWorker, type ToWorker } from './protocol.ts';

function send(message: FromWorker): void {
  if (process.connected) process.send!(message);
}

/** Snapshots handed over by the primary: decoded and compiled here, as the xDS source does with its bytes. */
export class PrimarySnapshotSource implements SnapshotSource {
  private readonly decoder = new RuntimeSnapshotDecoder();
  private applied: LoadedSnapshot | undefined;
  private sink: SnapshotSink | undefined;
  private firstResolve: (() => void) | undefined;
  private readonly firstApplied = new Promise<void>((resolve) => (this.firstResolve = resolve));
  /** A snapshot that came before start(): a message without a listener would be lost, so it waits here. */
  private pending: { version: string; bytes: Uint8Array } | undefined;
  private readonly onMessage = (message: unknown) => {
    if (!isMessage<ToWorker>(message) || message.type !== 'gatehouse:snapshot') return;
    if (this.sink) this.load(message.version, message.bytes);
    else this.pending = message;
  };
  private log: Logger;

  private readonly channel: Pick<NodeJS.EventEmitter, 'on' | 'off'>;

  /**
   * Listens at once: the primary sends the snapshot of the moment right after the start message.
   * `channel`: where the primary's messages arrive (the process; tests give an emitter).
   */
  constructor(log: Logger, channel: Pick<NodeJS.EventEmitter, 'on' | 'off'> = process) {
    this.log = log;
    this.channel = channel;
    channel.on('message', this.onMessage);
  }

  start(sink: SnapshotSink): Promise<void> {
    this.sink = sink;
    const pending = this.pending;
    this.pending = undefined;
    if (pending) this.load(pending.version, pending.bytes);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.channel.off('message', this.onMessage);
    return Promise.resolve();
  }

  setLog(log: Logger): void {
    this.log = log;
  }

  /** The version applied last. */
  version(): string | undefined {
    return this.applied?.version;
  }

  /** Resolves with the first snapshot applied; keeps the process alive until then. */
  async first(): Promise<void> {
    const alive = setInterval(() => {}, 60_000);
    try {
      await this.firstApplied;
    } finally {
      clearInterval(alive);
    }
  }

  private load(version: string, bytes: Uint8Array): void {
    try {
      const loaded = loadSnapshot(this.decoder.decode(bytes), defaultCatalog, this.applied);
      this.applied = loaded;
      this.sink?.apply(loaded);
      send({ type: 'gatehouse:applied', version: loaded.version });
      this.firstResolve?.();
    } catch (err) {
      // The primary loaded these very bytes with the same code: only a fault of this process gets here.
      this.log.error({ version, err: (err as Error).message }, 'snapshot from the primary not applied');
      this.sink?.reject(err as Error);
      send({ type: 'gatehouse:rejected', version, error: (err as Error).message });
    }
  }
}

/** Per-worker series (labelled by slot), which the primary's sum keeps apart: traffic and snapshot by worker. */
function registerWorkerMetrics(metrics: ExtprocMetrics, worker: number, source: () => string | undefined): void {
  const label = String(worker);
  new Counter({
    name: 'gatehouse_extproc_worker_streams_total',
    help: 'ext_proc streams ended, by worker (--workers)',
    labelNames: ['worker'] as const,
    registers: [metrics.registry],
    async collect() {
      const total = (await metrics.streams.get()).values.reduce((n, v) => n + v.value, 0);
      this.reset();
      this.inc({ worker: label }, total);
    },
  });
  new Gauge({
    name: 'gatehouse_extproc_worker_snapshot_info',
    help: 'the runtime snapshot each worker serves (value 1)',
    labelNames: ['worker', 'version'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      const version = source();
      if (version !== undefined) this.set({ worker: label, version }, 1);
    },
  });
}

/** Answers the primary's scrapes with this worker's registry. */
function answerScrapes(metrics: ExtprocMetrics): void {
  process.on('message', (message: unknown) => {
    if (!isMessage<ToWorker>(message) || message.type !== 'gatehouse:metrics') return;
    void metrics.registry.getMetricsAsJSON().then(
      (json) => send({ type: 'gatehouse:metrics', id: message.id, metrics: json }),
      () => send({ type: 'gatehouse:metrics', id: message.id, metrics: [] }),
    );
  });
}

/** The worker's whole life: waits for the primary's start message, serves until told to stop. */
export async function runWorker(): Promise<number> {
  let log = createLogger('extproc');
  const source = new PrimarySnapshotSource(log);
  const start = await new Promise<Extract<ToWorker, { type: 'gatehouse:start' }>>((resolve) => {
    const alive = setInterval(() => {}, 60_000);
    const onMessage = (message: unknown) => {
      if (!isMessage<ToWorker>(message) || message.type !== 'gatehouse:start') return;
      process.off('message', onMessage);
      clearInterval(alive);
      resolve(message);
    };
    process.on('message', onMessage);
    send({ type: 'gatehouse:hello' });
  });
  const o = start.options;
  log = log.child({ worker: start.worker });
  source.setLog(log);
  const metrics = new ExtprocMetrics({ processMetrics: true, maxProxies: o.metricsMaxProxies });
  registerWorkerMetrics(metrics, start.worker, () => source.version());
  answerScrapes(metrics);
  await serveExtproc(o, {
    log,
    lifecycle: new Lifecycle(log),
    metrics,
    source,
    health: false,
    replicas: start.replicas,
    beforeListen: async () => {
      await source.first();
    },
    onListening: (port) => send({ type: 'gatehouse:serving', port }),
    logFields: { worker: start.worker },
  });
  log.info('extproc worker stopped');
  return 0;
}
