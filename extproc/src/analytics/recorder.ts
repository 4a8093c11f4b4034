// Analytics records (docs/operations.md#analytics): one per transaction, made when the ext_proc stream
// is over and handed to the DataPlane's sinks (spec.analytics; runtime snapshot DataPlane.analytics).
// Nothing here is on the response's path: record() only appends to a bounded queue per sink (a full
// queue drops the record and counts it), and each sink exports batches in the background, one export
// at a time and each within a deadline, so a dead or hung sink neither delays a response nor grows
// memory past its queue. The sinks are rebuilt when a snapshot changes their configuration.
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Analytics__Output } from '../../../protos/gen/gatehouse/v1/Analytics.ts';
import type { SnapshotStore } from '../config/snapshot-store.ts';
import { createSinks, type AnalyticsSink } from './sinks.ts';
import type { AnalyticsRecord } from './record.ts';

/** How long one export may take before it is given up (counted as failed). */
const exportDeadlineMs = 10_000;

export interface AnalyticsCounters {
  /** gatehouse_analytics_records_total{sink, result}: exported | failed. */
  records: Counter<'sink' | 'result'>;
  /** gatehouse_analytics_dropped_total{sink, reason}: queue_full | shutdown. */
  dropped: Counter<'sink' | 'reason'>;
}

export function analyticsCounters(registry: Registry): AnalyticsCounters {
  return {
    records: new Counter({
      name: 'gatehouse_analytics_records_total',
      help: 'Analytics records handed to a sink, by sink (otlp, file, http) and result (exported, failed)',
      labelNames: ['sink', 'result'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'gatehouse_analytics_dropped_total',
      help: 'Analytics records dropped before export, by sink and reason (queue_full: the sink is slower than traffic or down)',
      labelNames: ['sink', 'reason'],
      registers: [registry],
    }),
  };
}

/** One sink with its bounded queue and its background batches. */
class SinkQueue {
  private readonly queue: AnalyticsRecord[] = [];
  private readonly timer: NodeJS.Timeout;
  private exporting = false;
  private closed = false;

  readonly sink: AnalyticsSink;
  private readonly config: { queueSize: number; batchSize: number; flushIntervalMs: number };
  private readonly counters: AnalyticsCounters;
  private readonly log: Logger;

  constructor(
    sink: AnalyticsSink,
    config: { queueSize: number; batchSize: number; flushIntervalMs: number },
    counters: AnalyticsCounters,
    log: Logger,
  ) {
    this.sink = sink;
    this.config = config;
    this.counters = counters;
    this.log = log;
    this.timer = setInterval(() => void this.flush(), Math.max(10, config.flushIntervalMs));
    this.timer.unref();
  }

  push(record: AnalyticsRecord): void {
    if (this.closed || this.queue.length >= this.config.queueSize) {
      this.counters.dropped.inc({ sink: this.sink.kind, reason: this.closed ? 'shutdown' : 'queue_full' });
      return;
    }
    this.queue.push(record);
    if (this.queue.length >= this.config.batchSize) void this.flush();
  }

  /** Exports batches until the queue is empty; one export at a time. */
  async flush(): Promise<void> {
    if (this.exporting) return;
    this.exporting = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.config.batchSize);
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            this.sink.export(batch),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`export took over ${exportDeadlineMs} ms`)), exportDeadlineMs);
            }),
          ]);
          this.counters.records.inc({ sink: this.sink.kind, result: 'exported' }, batch.length);
        } catch (err) {
          this.counters.records.inc({ sink: this.sink.kind, result: 'failed' }, batch.length);
          this.log.warn(
            { sink: this.sink.kind, records: batch.length, err: (err as Error).message },
            'analytics export failed',
          );
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      this.exporting = false;
    }
  }

  /** What is queued is exported (within the deadline), then the sink is closed. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    await this.sink.close().catch(() => undefined);
  }

  get queued(): number {
    return this.queue.length;
  }
}

export interface AnalyticsRecorderOptions {
  log: Logger;
  counters: AnalyticsCounters;
}

/**
 * The process's analytics: configured from each applied snapshot (the DataPlane's analytics and the
 * Secret values its sinks name), off while the snapshot has none.
 */
export class AnalyticsRecorder {
  private queues: SinkQueue[] = [];
  private configKey = '';
  private readonly options: AnalyticsRecorderOptions;
  /** The configuration being applied (the OTLP sink loads its SDK first). */
  private pending: Promise<void> = Promise.resolve();

  constructor(options: AnalyticsRecorderOptions) {
    this.options = options;
  }

  /** Whether a record should be made at all (no sink: no record is built). */
  get enabled(): boolean {
    return this.queues.length > 0;
  }

  /** Applies a snapshot's analytics; unchanged configuration keeps the sinks and their queues. */
  configure(config: Analytics__Output | null | undefined, secrets: Record<string, string>): Promise<void> {
    const key = config ? JSON.stringify([config, sinkSecrets(config, secrets)]) : '';
    if (key === this.configKey) return this.pending;
    this.configKey = key;
    this.pending = this.pending.then(async () => {
      const old = this.queues;
      this.queues = [];
      if (config) {
        const settings = {
          queueSize: config.queueSize || 10_000,
          batchSize: config.batchSize || 500,
          flushIntervalMs: config.flushIntervalMs || 5000,
        };
        try {
          const sinks = await createSinks(config, secrets);
          this.queues = sinks.map((s) => new SinkQueue(s, settings, this.options.counters, this.options.log));
          this.options.log.info({ sinks: sinks.map((s) => s.kind) }, 'analytics on');
        } catch (err) {
          // A sink that cannot start (bad TLS material) leaves analytics off, never the data plane.
          this.options.log.error({ err: (err as Error).message }, 'analytics sinks not started; analytics off');
        }
      }
      await Promise.allSettled(old.map((q) => q.close()));
    });
    return this.pending;
  }

  /** Queues the record for every sink; never waits. */
  record(record: AnalyticsRecord): void {
    for (const q of this.queues) q.push(record);
  }

  /** Exports what is queued now (tests, benchmarks). */
  async flush(): Promise<void> {
    await this.pending;
    await Promise.allSettled(this.queues.map((q) => q.flush()));
  }

  /** Records waiting, per sink kind (tests). */
  queued(): Record<string, number> {
    return Object.fromEntries(this.queues.map((q) => [q.sink.kind, q.queued]));
  }

  async close(): Promise<void> {
    await this.pending;
    const all = this.queues;
    this.queues = [];
    this.configKey = '';
    await Promise.allSettled(all.map((q) => q.close()));
  }
}

/** The secret values a configuration names, so that a rotated Secret rebuilds its sink. */
function sinkSecrets(config: Analytics__Output, secrets: Record<string, string>): string[] {
  const ids = [
    config.otlp?.caSecret,
    config.otlp?.certSecret,
    config.otlp?.keySecret,
    ...Object.values(config.http?.headerSecrets ?? {}),
  ].filter((id): id is string => !!id);
  return ids.map((id) => secrets[id] ?? '');
}

/** Reconfigures `recorder` with every snapshot `store` applies. */
export function followSnapshots(store: SnapshotStore, recorder: AnalyticsRecorder): void {
  const current = store.current();
  if (current) void recorder.configure(current.analytics, current.secrets);
  store.onChange((event) => {
    if (event.kind === 'applied') void recorder.configure(event.snapshot.analytics, event.snapshot.secrets);
  });
}
