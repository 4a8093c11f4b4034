// The threads that run Script (Python) policies (docs/policies.md#script-python): `size` worker threads,
// each with its own pyodide (CPython in WebAssembly, seconds to load: loaded once per thread and kept
// warm), running one script at a time, and a queue of at most `queueLimit` runs waiting for one. A run
// waits for a thread at most until its wait deadline (503 gatehouse.WorkBudgetExceeded, as a run waiting
// for the policy worker pool does), a full queue refuses at once (503 gatehouse.WorkQueueFull), so a
// request never hangs on a pool that is still loading. A script over its time limit is interrupted
// through pyodide's interrupt buffer (KeyboardInterrupt at the next bytecode); one that does not stop
// within `graceMs` (stuck in C code) has its thread terminated and replaced. A thread whose WebAssembly
// heap grew past `recycleHeapMb` is replaced after its run: that memory is never given back.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { CancelledFault, WorkBudgetExceededFault, WorkQueueFullFault } from '../../../flow/gatehouse-faults.ts';
import type { PythonReply, PythonRequest, PythonValue, PythonWorkerData } from './protocol.ts';

export interface PythonPoolOptions {
  /** Threads (at least 1). */
  size: number;
  /** Runs that may wait for a thread beyond the running ones. */
  queueLimit: number;
  /** Bound of each thread's WebAssembly heap, MiB (a script that needs more gets MemoryError). */
  maxMemoryMb: number;
  /** A thread whose heap grew past this after a run is replaced, MiB. */
  recycleHeapMb: number;
  /** How long an interrupted script may take to stop before its thread is terminated. */
  graceMs: number;
  /** How long a run may wait for a thread (the pool loading, every thread busy): extproc's --work-budget-ms. */
  waitMs: number;
  log?: Logger;
}

export const DEFAULT_PYTHON_POOL: PythonPoolOptions = {
  size: 2,
  queueLimit: 64,
  maxMemoryMb: 256,
  recycleHeapMb: 128,
  graceMs: 500,
  waitMs: 1000,
};

export interface PythonRun {
  key: string;
  sources: Array<[string, string]>;
  values: Record<string, PythonValue>;
  properties: Record<string, string>;
  timeLimitMs: number;
  /** performance.now() after which the run must not start (it is still waiting for a thread). */
  waitDeadline: number;
  /** The budget the wait deadline came from, for the fault's message. */
  waitBudgetMs: number;
  signal?: AbortSignal;
}

export type PythonOutcome =
  | { kind: 'done'; sets: Record<string, unknown>; printed: string[] }
  | { kind: 'failed'; reason: 'timeout' | 'error' | 'crashed'; message: string; line?: number; printed: string[] };

interface Job {
  run: PythonRun;
  resolve(outcome: PythonOutcome): void;
  reject(error: Error): void;
  waitTimer: NodeJS.Timeout | undefined;
  cleanup(): void;
}

interface Slot {
  worker: Worker;
  interrupt: Int32Array;
  ready: boolean;
  known: Set<string>;
  job: Job | undefined;
  id: number;
  timers: NodeJS.Timeout[];
}

export class PythonPool {
  private readonly options: PythonPoolOptions;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;
  /** Milliseconds each thread took to load pyodide, in the order they became ready. */
  readonly startTimes: number[] = [];

  constructor(options: PythonPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1)
      throw new RangeError(`python pool size ${options.size} < 1`);
    this.options = options;
    for (let i = 0; i < options.size; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  /** How long a run may wait for a thread. */
  get waitMs(): number {
    return this.options.waitMs;
  }

  /** Threads that have loaded pyodide. */
  get readyCount(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /** Resolves when every thread has loaded pyodide (runs queue until then). */
  async ready(): Promise<void> {
    while (!this.closed && this.slots.some((s) => !s.ready)) await new Promise((r) => setTimeout(r, 20));
  }

  run(run: PythonRun): Promise<PythonOutcome> {
    if (this.closed) return Promise.reject(new WorkQueueFullFault());
    if (run.signal?.aborted) return Promise.reject(new CancelledFault());
    const idle = this.slots.find((s) => s.ready && !s.job);
    if (!idle && this.queue.length >= this.options.queueLimit) return Promise.reject(new WorkQueueFullFault());
    return new Promise((resolve, reject) => {
      const onAbort = () => this.dequeue(job, new CancelledFault());
      const job: Job = {
        run,
        resolve,
        reject,
        waitTimer: undefined,
        cleanup: () => {
          clearTimeout(job.waitTimer);
          run.signal?.removeEventListener('abort', onAbort);
        },
      };
      run.signal?.addEventListener('abort', onAbort, { once: true });
      if (idle) {
        this.start(idle, job);
        return;
      }
      this.queue.push(job);
      job.waitTimer = setTimeout(
        () => this.dequeue(job, new WorkBudgetExceededFault(run.waitBudgetMs)),
        Math.max(0, run.waitDeadline - performance.now()),
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) this.fail(job, new CancelledFault());
    await Promise.all(
      this.slots.map(async (slot) => {
        this.clearTimers(slot);
        if (slot.job) this.fail(slot.job, new CancelledFault());
        slot.job = undefined;
        await slot.worker.terminate();
      }),
    );
  }

  private dequeue(job: Job, error: Error): void {
    const at = this.queue.indexOf(job);
    if (at < 0) return; // running: it ends within its time limit
    this.queue.splice(at, 1);
    this.fail(job, error);
  }

  private spawn(): Slot {
    const interrupt = new Int32Array(new SharedArrayBuffer(4));
    const workerData: PythonWorkerData = {
      interrupt: interrupt.buffer,
      maxMemoryMb: this.options.maxMemoryMb,
    };
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData,
      // No environment variables: nothing of the host's reaches the thread even if a script got to `process`.
      env: {},
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    worker.stdout.resume();
    worker.stderr.resume();
    const slot: Slot = { worker, interrupt, ready: false, known: new Set(), job: undefined, id: 0, timers: [] };
    worker.unref();
    worker.on('message', (reply: PythonReply) => this.onReply(slot, reply));
    worker.on('error', (err: Error) => this.onExit(slot, err.message));
    worker.on('exit', (code) => this.onExit(slot, `exit code ${code}`));
    return slot;
  }

  private onReply(slot: Slot, reply: PythonReply): void {
    if (reply.kind === 'ready') {
      slot.ready = true;
      this.startTimes.push(reply.startMs);
      this.options.log?.info({ startMs: Math.round(reply.startMs) }, 'python script worker ready');
      this.next(slot);
      return;
    }
    const job = slot.job;
    if (!job || reply.id !== slot.id) return;
    if (reply.kind === 'unknown') {
      slot.known.delete(job.run.key);
      this.post(slot, job, true);
      return;
    }
    this.clearTimers(slot);
    slot.job = undefined;
    job.cleanup();
    if (reply.kind === 'done') job.resolve({ kind: 'done', sets: reply.sets, printed: reply.printed });
    else {
      job.resolve({
        kind: 'failed',
        reason: reply.reason,
        message: reply.message,
        ...(reply.line !== undefined ? { line: reply.line } : {}),
        printed: reply.printed,
      });
    }
    if (reply.kind === 'failed' && reply.broken) {
      this.options.log?.warn({ message: reply.message }, 'python script worker replaced after a fatal error');
      this.replace(slot);
      return;
    }
    if (reply.heapBytes > this.options.recycleHeapMb * 1024 * 1024) {
      this.options.log?.info({ heapBytes: reply.heapBytes }, 'python script worker recycled: its heap grew');
      this.replace(slot);
      return;
    }
    this.next(slot);
  }

  private onExit(slot: Slot, reason: string): void {
    const at = this.slots.indexOf(slot);
    if (at < 0 || this.closed) return;
    this.clearTimers(slot);
    const job = slot.job;
    slot.job = undefined;
    if (job) {
      this.options.log?.error({ reason }, 'python script worker exited while running a script');
      job.cleanup();
      job.resolve({
        kind: 'failed',
        reason: 'crashed',
        message: `the script's worker stopped (${reason})`,
        printed: [],
      });
    } else if (!slot.ready) {
      this.options.log?.error({ reason }, 'python script worker could not start');
    }
    // A thread that died before it was ready is retried after a pause, not in a tight loop.
    const delay = slot.ready || job ? 0 : 1000;
    this.slots.splice(at, 1);
    setTimeout(() => {
      if (this.closed) return;
      const fresh = this.spawn();
      this.slots.push(fresh);
    }, delay).unref();
  }

  /** Terminates a thread (over time, or its heap grew) and puts a fresh one in its place. */
  private replace(slot: Slot): void {
    const at = this.slots.indexOf(slot);
    if (at < 0) return;
    this.clearTimers(slot);
    slot.worker.removeAllListeners('exit');
    slot.worker.removeAllListeners('error');
    slot.worker.on('error', () => undefined);
    void slot.worker.terminate();
    this.slots[at] = this.spawn();
  }

  private start(slot: Slot, job: Job): void {
    clearTimeout(job.waitTimer);
    if (job.run.signal?.aborted) {
      this.fail(job, new CancelledFault());
      this.next(slot);
      return;
    }
    slot.job = job;
    slot.id++;
    this.post(slot, job, !slot.known.has(job.run.key));
    const { timeLimitMs } = job.run;
    slot.timers.push(
      setTimeout(() => {
        Atomics.store(slot.interrupt, 0, 2); // SIGINT: KeyboardInterrupt at the next bytecode
      }, timeLimitMs),
      setTimeout(() => {
        if (slot.job !== job) return;
        slot.job = undefined;
        job.cleanup();
        this.options.log?.warn({ timeLimitMs }, 'python script ignored its interrupt; worker replaced');
        job.resolve({
          kind: 'failed',
          reason: 'timeout',
          message: 'the script did not stop when interrupted',
          printed: [],
        });
        this.replace(slot);
      }, timeLimitMs + this.options.graceMs),
    );
  }

  private post(slot: Slot, job: Job, withSources: boolean): void {
    const { key, sources, values, properties } = job.run;
    const request: PythonRequest = { id: slot.id, key, values, properties, ...(withSources ? { sources } : {}) };
    slot.known.add(key);
    slot.worker.postMessage(request);
  }

  private next(slot: Slot): void {
    if (this.closed || !slot.ready || slot.job) return;
    const job = this.queue.shift();
    if (job) this.start(slot, job);
  }

  private clearTimers(slot: Slot): void {
    for (const timer of slot.timers.splice(0)) clearTimeout(timer);
  }

  private fail(job: Job, error: Error): void {
    job.cleanup();
    job.reject(error);
  }
}

let shared: PythonPool | undefined;
let sharedOptions: PythonPoolOptions = DEFAULT_PYTHON_POOL;

/** Sets the options of the process's pool (extproc's flags); takes effect when the pool starts. */
export function configurePythonPool(options: Partial<PythonPoolOptions>): void {
  sharedOptions = { ...sharedOptions, ...options };
}

/** The process's pool, started the first time a snapshot holds a Script policy (docs/policies.md#script-python). */
export function pythonPool(): PythonPool {
  shared ??= new PythonPool(sharedOptions);
  return shared;
}

/** Stops the process's pool (shutdown, tests). */
export async function closePythonPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
