// Where a task runs: inline under --offload-min-bytes of weight, on the pool from it, the weight being
// the body's size times the cost of the work per byte (a scan 1, JSONPath 8, XPath 64).
import { describe, expect, it } from 'vitest';
import type { TaskName } from '../flow/offload.ts';
import { StreamOffload } from './offload.ts';
import type { WorkerPool } from './pool.ts';
import { taskWeight } from './tasks.ts';

const NO_LIMITS = {
  containerDepth: Infinity,
  arrayElementCount: Infinity,
  objectEntryCount: Infinity,
  objectEntryNameLength: Infinity,
  stringValueLength: Infinity,
};
const regexSpec = { json: [{ expression: '$..*', patterns: ['x'] }], xml: [], namespaces: {} };
const extractSpec = (xPaths: string[]) => ({ jsonPaths: ['$.a'], xPaths, namespaces: {} });

/** A pool that records what it was given and answers nothing. */
function recordingPool(): { pool: WorkerPool; ran: string[] } {
  const ran: string[] = [];
  const pool = {
    run: (task: TaskName) => {
      ran.push(task);
      return new Promise(() => {});
    },
  } as unknown as WorkerPool;
  return { pool, ran };
}

describe('cost-weighted offload', () => {
  const body = Buffer.from(`[${'1,'.repeat(2499)}1]`); // 5,001 bytes

  it('weighs a scan at its bytes, JSONPath at 8x and XPath at 64x', () => {
    expect(taskWeight('json.threat', { body, limits: NO_LIMITS } as never)).toBe(5001);
    expect(taskWeight('xml.threat', { body, limits: {} } as never)).toBe(5001);
    const regex = { body, spec: regexSpec, key: 'k' };
    expect(taskWeight('regex.body', { ...regex, json: true, xml: false } as never)).toBe(8 * 5001);
    expect(taskWeight('regex.body', { ...regex, json: false, xml: true } as never)).toBe(64 * 5001);
    expect(taskWeight('extract.body', { body, spec: extractSpec([]), key: 'k' } as never)).toBe(8 * 5001);
    expect(taskWeight('extract.body', { body, spec: extractSpec(['/a']), key: 'k' } as never)).toBe(64 * 5001);
  });

  it('sends a query on a body too small for a scan to be offloaded to the pool', () => {
    const { pool, ran } = recordingPool();
    const offload = new StreamOffload(pool, { minBytes: 32 * 1024, budgetMs: 1000 }, new AbortController().signal);
    offload.startPhase();
    // A 5 KB scan runs inline (its answer comes back now, not as a promise) ...
    expect(offload.run('json.threat', { body, limits: NO_LIMITS })).toBeNull();
    // ... and JSONPath (40 KB of weight) and XPath (320 KB) over the same 5 KB go to the pool.
    const regex = { body, spec: regexSpec, key: JSON.stringify(regexSpec) };
    expect(offload.run('regex.body', { ...regex, json: true, xml: false })).toBeInstanceOf(Promise);
    expect(offload.run('extract.body', { body, spec: extractSpec(['/a']), key: 'x' })).toBeInstanceOf(Promise);
    expect(ran).toEqual(['regex.body', 'extract.body']);
    // Under the threshold by weight: a 1 KB JSONPath query (8 KB of weight) stays inline.
    const small = Buffer.from('{"a":"x"}'.padEnd(1024, ' '));
    expect(offload.run('regex.body', { ...regex, body: small, json: true, xml: false })).not.toBeInstanceOf(Promise);
    expect(ran).toHaveLength(2);
  });
});
