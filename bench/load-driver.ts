// What the ext_proc benchmarks share: the Envoy-style load runs in a worker thread (so the driver's
// JavaScript does not share the server's event loop), and latencies are summarised by percentile.
import { Worker } from 'node:worker_threads';
import type { WorkerResult, WorkerTask } from './extproc-worker.ts';

export function runWorker(task: WorkerTask): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./extproc-worker.ts', import.meta.url), { workerData: task });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** The p-th percentile of ascending `sorted` (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
