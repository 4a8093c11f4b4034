// What the ext_proc benchmarks share: the Envoy-style load runs in a worker thread (so the driver's
// JavaScript does not share the server's event loop), and latencies are summarised by percentile.
import { Worker } from 'node:worker_threads';
import type { WorkerResult, WorkerTask } from './extproc-worker.ts';

/** The API key the ext_proc bench's app holds (bench/extproc-server.ts) and its driver sends. */
export const BENCH_API_KEY = 'bench-key-123';

/**
 * Runs the driver. With `task.holdAfterWarmup`, `onWarm` runs between the warm-up and the measured
 * phase (the caller samples counters there) and the measured phase starts when it resolves.
 */
export function runWorker(task: WorkerTask, onWarm?: () => void | Promise<void>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./extproc-worker.ts', import.meta.url), { workerData: task });
    worker.on('message', (msg: WorkerResult | 'warm') => {
      if (msg !== 'warm') return resolve(msg);
      void Promise.resolve(onWarm?.()).then(
        () => worker.postMessage('go'),
        (err: Error) => {
          void worker.terminate();
          reject(err);
        },
      );
    });
    worker.once('error', reject);
  });
}

/** The p-th percentile of ascending `sorted` (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** CPU time (user + system) a process has used so far, in microseconds, from /proc/<pid>/stat. */
export function processCpuMicros(pid: number, stat: string): number {
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name (0-based 11, 12).
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`cannot read utime/stime of process ${pid} from /proc/${pid}/stat`);
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ: Linux reports utime/stime in 1/100 s on every architecture Node runs on (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS_PER_SECOND = 100;
