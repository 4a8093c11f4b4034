// The worker pool with real worker threads. Tasks whose timing the test controls (testing-worker.ts)
// make every case a matter of conditions: a worker is held busy until the test releases it.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledFault, WorkBudgetExceededFault, WorkQueueFullFault } from '../flow/gatehouse-faults.ts';
import { WorkerCrashedError, WorkerPool, WorkerPoolClosedError, WorkerTaskError, type TaskResult } from './pool.ts';
import { tasks } from './tasks.ts';

const script = new URL('./testing-worker.ts', import.meta.url);
const pools: WorkerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function pool(size = 1, queueLimit = 1, onTask?: (task: string, result: TaskResult) => void): WorkerPool {
  const p = new WorkerPool({ size, queueLimit, script, ...(onTask ? { onTask } : {}) });
  pools.push(p);
  return p;
}

const EMPTY = new Uint8Array(0);
const far = () => ({ deadline: performance.now() + 60_000, budgetMs: 60_000 });

/** A task that holds its worker until `release()`. */
function holder(p: WorkerPool) {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const done = p.run('test.wait', { body: EMPTY, flag } as never, far());
  return {
    done,
    release: () => {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

describe('WorkerPool', () => {
  it('gives the same answer as the task run inline, for any body', async () => {
    const p = pool(2, 64);
    await p.ready();
    const limits = {
      containerDepth: 4,
      arrayElementCount: 5,
      objectEntryCount: 5,
      objectEntryNameLength: 8,
      stringValueLength: 16,
    };
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string()), async (text) => {
        const body = Buffer.from(text);
        const inline = tasks['json.threat']({ body, limits });
        expect(await p.run('json.threat', { body, limits }, far())).toEqual(inline);
      }),
      { numRuns: 200 },
    );
  });

  it('copies a body that is a view into a larger buffer, and only its bytes', async () => {
    const p = pool();
    const big = Buffer.from('xxxx[1,2]yyyy');
    const view = big.subarray(4, 9);
    const limits = {
      containerDepth: 1,
      arrayElementCount: 1,
      objectEntryCount: 9,
      objectEntryNameLength: 9,
      stringValueLength: 9,
    };
    expect(await p.run('json.threat', { body: view, limits }, far())).toEqual({
      violation: 'ArrayElementCountExceeded',
      message: 'Exceeded array element count, max 1 allowed',
    });
    expect(big.toString()).toBe('xxxx[1,2]yyyy'); // the caller's buffer is untouched (copied, not moved)
  });

  it('queues up to its limit and refuses beyond it with 503 gatehouse.WorkQueueFull', async () => {
    const results: string[] = [];
    const p = pool(1, 1, (_task, result) => results.push(result));
    await p.ready();
    const held = holder(p);
    await until(() => p.busy === 1);
    const queued = p.run('test.throw', { body: EMPTY }, far());
    expect(p.queued).toBe(1);
    await expect(p.run('test.throw', { body: EMPTY }, far())).rejects.toBeInstanceOf(WorkQueueFullFault);
    held.release();
    expect(await held.done).toBe('released');
    await expect(queued).rejects.toBeInstanceOf(WorkerTaskError);
    expect(results).toEqual(['queue_full', 'done', 'failed']);
  });

  it('terminates a worker over budget, refuses its task with 503 gatehouse.WorkBudgetExceeded, and replaces it', async () => {
    const p = pool();
    await p.ready();
    const spinning = p.run('test.spin', { body: EMPTY }, { deadline: performance.now() + 50, budgetMs: 50 });
    await expect(spinning).rejects.toBeInstanceOf(WorkBudgetExceededFault);
    await expect(spinning).rejects.toMatchObject({ status: 503, errorCode: 'gatehouse.WorkBudgetExceeded' });
    const flag = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(flag, 0, 1);
    expect(await p.run('test.wait', { body: EMPTY, flag } as never, far())).toBe('released');
  });

  it('refuses a queued task whose deadline passed before a worker was free, without running it', async () => {
    const p = pool();
    await p.ready();
    const held = holder(p);
    await until(() => p.busy === 1);
    const deadline = performance.now() + 20;
    const late = p.run('test.spin', { body: EMPTY }, { deadline, budgetMs: 20 });
    await until(() => performance.now() > deadline);
    held.release();
    await expect(late).rejects.toBeInstanceOf(WorkBudgetExceededFault);
    await held.done;
    expect(p.busy).toBe(0); // test.spin never started: it would still be running
  });

  it('drops a queued task whose stream ended', async () => {
    const p = pool();
    await p.ready();
    const held = holder(p);
    await until(() => p.busy === 1);
    const cancel = new AbortController();
    const dropped = p.run('test.spin', { body: EMPTY }, { ...far(), signal: cancel.signal });
    cancel.abort();
    await expect(dropped).rejects.toBeInstanceOf(CancelledFault);
    expect(p.queued).toBe(0);
    held.release();
    await held.done;
  });

  it('survives a worker that dies mid-task', async () => {
    const p = pool();
    await p.ready();
    await expect(p.run('test.exit', { body: EMPTY }, far())).rejects.toBeInstanceOf(WorkerCrashedError);
    const flag = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(flag, 0, 1);
    expect(await p.run('test.wait', { body: EMPTY, flag } as never, far())).toBe('released');
  });

  it('refuses queued and running tasks when closed', async () => {
    const p = pool();
    await p.ready();
    const held = holder(p);
    await until(() => p.busy === 1);
    const queued = p.run('test.throw', { body: EMPTY }, far());
    const refusals = Promise.all([
      expect(held.done).rejects.toBeInstanceOf(WorkerPoolClosedError),
      expect(queued).rejects.toBeInstanceOf(WorkerPoolClosedError),
    ]);
    await p.close();
    await refusals;
    await expect(p.run('test.throw', { body: EMPTY }, far())).rejects.toBeInstanceOf(WorkerPoolClosedError);
  });
});
