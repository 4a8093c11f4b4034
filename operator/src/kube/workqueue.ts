// A rate-limited work queue with client-go semantics: a key waits at most once (dirty set), is never
// processed by two workers at once (processing set), and a key added while it is being processed is
// processed again afterwards. Delayed adds keep the earliest due time per key. Keys are compared
// with SameValueZero (Map/Set), so use strings like "namespace/name".
import type { Logger } from '../../../lib/log.ts';
import { WorkQueueError } from './errors.ts';
import type { KubeMetrics } from './metrics.ts';
import { traced } from '../tracing.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.ts';

export interface WorkQueueOptions<K> {
  /** For logs and metrics. */
  name: string;
  /** Default: defaultControllerRateLimiter() (5 ms .. 1000 s per key, 10 qps burst 100 overall). */
  rateLimiter?: RateLimiter<K>;
  log?: Logger;
  metrics?: KubeMetrics;
}

export type Reconcile<K> = (key: K) => Promise<void | { requeueAfterMs?: number }>;

export class WorkQueue<K = string> {
  private readonly name: string;
  private readonly rateLimiter: RateLimiter<K>;
  private readonly log?: Logger;
  private readonly metrics?: KubeMetrics;
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiting = new Map<K, { dueAt: number; timer: NodeJS.Timeout }>();
  /** Workers parked until a key arrives (or shutdown: undefined). */
  private readonly idle: ((key: K | undefined) => void)[] = [];
  private workers: Promise<void>[] = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions<K>) {
    this.name = options.name;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<K>();
    this.log = options.log?.child({ queue: options.name });
    this.metrics = options.metrics;
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.workqueueAdds.inc({ name: this.name });
    this.dirty.add(key);
    // Being processed: it is queued again when that finishes (done()).
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) return this.add(key);
    const dueAt = performance.now() + delayMs;
    const existing = this.waiting.get(key);
    if (existing && existing.dueAt <= dueAt) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.waiting.set(key, { dueAt, timer });
  }

  addRateLimited(key: K): void {
    if (this.shuttingDown) return;
    this.metrics?.workqueueRetries.inc({ name: this.name });
    this.addAfter(key, this.rateLimiter.when(key));
  }

  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Keys waiting to be processed (not those being processed or waiting out a delay). */
  get length(): number {
    return this.queue.length;
  }

  /**
   * Starts `concurrency` workers (default 1). A reconcile that throws is logged and re-added rate
   * limited; one that returns {requeueAfterMs} is forgotten and re-added after that delay; one that
   * returns nothing is forgotten.
   */
  run(reconcile: Reconcile<K>, options: { concurrency?: number } = {}): void {
    if (this.workers.length > 0) throw new WorkQueueError(`work queue ${this.name} is already running`);
    if (this.shuttingDown) throw new WorkQueueError(`work queue ${this.name} is shut down`);
    const concurrency = Math.max(1, options.concurrency ?? 1);
    for (let i = 0; i < concurrency; i++) this.workers.push(this.worker(reconcile));
  }

  /** Stops handing out keys, waits for the reconciles in flight, clears delayed adds. */
  async shutDown(): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    for (const wake of this.idle.splice(0)) wake(undefined);
    await Promise.all(this.workers);
    this.queue.length = 0;
    this.dirty.clear();
    this.metrics?.workqueueDepth.set({ name: this.name }, 0);
  }

  private enqueue(key: K): void {
    const wake = this.idle.shift();
    if (wake) {
      this.take(key);
      wake(key);
      return;
    }
    this.queue.push(key);
    this.metrics?.workqueueDepth.set({ name: this.name }, this.queue.length);
  }

  /** Moves a key from waiting to processing. */
  private take(key: K): void {
    this.dirty.delete(key);
    this.processing.add(key);
  }

  private next(): Promise<K | undefined> | K | undefined {
    if (this.shuttingDown) return undefined;
    if (this.queue.length > 0) {
      const key = this.queue.shift() as K;
      this.metrics?.workqueueDepth.set({ name: this.name }, this.queue.length);
      this.take(key);
      return key;
    }
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
  }

  private async worker(reconcile: Reconcile<K>): Promise<void> {
    for (;;) {
      const next = this.next();
      const key = next instanceof Promise ? await next : next;
      if (key === undefined) return; // shut down
      const started = performance.now();
      let result: 'success' | 'requeue' | 'error' = 'success';
      try {
        const outcome = await traced(`reconcile ${this.name}`, { 'gatehouse.key': String(key) }, () => reconcile(key));
        if (outcome && outcome.requeueAfterMs !== undefined) {
          result = 'requeue';
          this.forget(key);
          this.addAfter(key, outcome.requeueAfterMs);
        } else {
          this.forget(key);
        }
      } catch (err) {
        result = 'error';
        this.log?.error(
          {
            err: err instanceof Error ? { message: err.message, code: (err as { code?: string }).code } : String(err),
            key,
            requeues: this.numRequeues(key),
          },
          'reconcile failed; retrying with backoff',
        );
        this.addRateLimited(key);
      } finally {
        this.metrics?.reconcileDuration.observe({ name: this.name, result }, (performance.now() - started) / 1000);
        this.done(key);
      }
    }
  }
}
