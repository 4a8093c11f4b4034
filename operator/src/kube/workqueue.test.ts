import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { KubeMetrics } from './metrics.ts';
import { ItemExponentialFailureRateLimiter, type RateLimiter } from './rate-limiter.ts';
import { WorkQueue } from './workqueue.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, lines };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(2);
  }
}

/** Records the delays asked of the limiter it wraps. */
class Recording<K> implements RateLimiter<K> {
  readonly delays: number[] = [];
  private readonly inner: RateLimiter<K>;
  constructor(inner: RateLimiter<K>) {
    this.inner = inner;
  }
  when(key: K) {
    const d = this.inner.when(key);
    this.delays.push(d);
    return d;
  }
  forget(key: K) {
    this.inner.forget(key);
  }
  numRequeues(key: K) {
    return this.inner.numRequeues(key);
  }
}

describe('WorkQueue', () => {
  it('keeps one entry per waiting key, in first-added order', async () => {
    const q = new WorkQueue({ name: 'dedup' });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('b');
    q.add('c');
    expect(q.length).toBe(3);
    const seen: string[] = [];
    q.run((key) => {
      seen.push(key);
      return Promise.resolve();
    });
    await until(() => seen.length === 3 && q.length === 0);
    await sleep(20);
    expect(seen).toEqual(['a', 'b', 'c']);
    await q.shutDown();
  });

  it('never gives one key to two workers; a key added while processed is processed again afterwards', async () => {
    const q = new WorkQueue({ name: 'exclusive' });
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    const calls: string[] = [];
    q.run(
      async (key) => {
        calls.push(key);
        running++;
        maxRunning = Math.max(maxRunning, running);
        if (calls.length === 1) await gate.promise;
        running--;
      },
      { concurrency: 4 },
    );
    q.add('a');
    await until(() => calls.length === 1);
    // Re-added twice while it runs: not handed to the three idle workers, and queued once for afterwards.
    q.add('a');
    q.add('a');
    q.add('b');
    await until(() => calls.includes('b'));
    expect(calls.filter((k) => k === 'a')).toHaveLength(1);
    expect(q.length).toBe(0);
    gate.resolve();
    await until(() => calls.filter((k) => k === 'a').length === 2);
    await sleep(20);
    expect(calls.filter((k) => k === 'a')).toHaveLength(2);
    expect(maxRunning).toBe(2); // a and b at once, never two a's
    await q.shutDown();
  });

  it('retries a failing reconcile with the per-key backoff, logs the error, and forgets the key on success', async () => {
    const limiter = new Recording(new ItemExponentialFailureRateLimiter<string>(1, 1000));
    const { log, lines } = capture();
    const registry = new Registry();
    const metrics = new KubeMetrics(registry);
    const q = new WorkQueue({ name: 'retry', rateLimiter: limiter, log, metrics });
    let attempts = 0;
    const requeuesSeen: number[] = [];
    q.run((key) => {
      requeuesSeen.push(q.numRequeues(key));
      if (++attempts <= 3) return Promise.reject(new Error(`attempt ${attempts} failed`));
      return Promise.resolve();
    });
    q.add('k');
    await until(() => attempts === 4);
    await until(() => q.numRequeues('k') === 0);
    expect(limiter.delays).toEqual([1, 2, 4]);
    expect(requeuesSeen).toEqual([0, 1, 2, 3]);
    const failures = lines.filter((l) => l.msg === 'reconcile failed; retrying with backoff');
    expect(failures).toHaveLength(3);
    expect(failures[0]).toMatchObject({ queue: 'retry', key: 'k', err: { message: 'attempt 1 failed' } });
    await q.shutDown();
    const text = await registry.metrics();
    expect(text).toMatch(/gatehouse_operator_workqueue_retries_total\{name="retry"\} 3/);
    expect(text).toMatch(/gatehouse_operator_workqueue_adds_total\{name="retry"\} 4/);
    expect(text).toMatch(/gatehouse_operator_reconcile_duration_seconds_count\{name="retry",result="error"\} 3/);
    expect(text).toMatch(/gatehouse_operator_reconcile_duration_seconds_count\{name="retry",result="success"\} 1/);
  });

  it('requeues after the delay a reconcile asks for, with its backoff forgotten', async () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>(1, 1000);
    limiter.when('k');
    limiter.when('k');
    const q = new WorkQueue({ name: 'requeue', rateLimiter: limiter });
    const calls: number[] = [];
    q.run(() => {
      calls.push(performance.now());
      return Promise.resolve(calls.length === 1 ? { requeueAfterMs: 30 } : undefined);
    });
    q.add('k');
    await until(() => calls.length === 2);
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(25);
    expect(q.numRequeues('k')).toBe(0);
    await q.shutDown();
  });

  it('keeps the earliest due time of a key added with several delays', async () => {
    const q = new WorkQueue({ name: 'after' });
    const calls: string[] = [];
    q.run((key) => {
      calls.push(key);
      return Promise.resolve();
    });
    q.addAfter('k', 60_000);
    q.addAfter('k', 5);
    q.addAfter('k', 30_000);
    await until(() => calls.length === 1);
    await sleep(30);
    expect(calls).toEqual(['k']);
    await q.shutDown();
  });

  it('shutDown stops handing out keys, waits for reconciles in flight and drops delayed adds', async () => {
    const q = new WorkQueue({ name: 'shutdown' });
    const gate = deferred();
    const calls: string[] = [];
    q.run(async (key) => {
      calls.push(key);
      if (key === 'slow') await gate.promise;
    });
    q.add('slow');
    await until(() => calls.length === 1);
    q.add('queued');
    q.addAfter('later', 10);
    let finished = false;
    const stopping = q.shutDown().then(() => (finished = true));
    await sleep(30);
    expect(finished).toBe(false);
    gate.resolve();
    await stopping;
    q.add('after');
    await sleep(30);
    expect(calls).toEqual(['slow']);
    expect(q.length).toBe(0);
  });
});
