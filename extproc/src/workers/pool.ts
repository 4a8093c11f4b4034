// A bounded pool of worker threads for policy work on large bodies (flow/offload.ts): `size` workers,
// each running one task at a time, and a queue of at most `queueLimit` tasks waiting for one. Every
// task has a deadline (its phase's budget): a task still queued at its deadline is refused without
// running, and one still running at its deadline has its worker terminated (the only way to stop
// synchronous JavaScript) and replaced. A full queue refuses at once. So a request can hold the event
// loop for no more than the copy of its body, and a worker for no more than its budget.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { GatehouseError } from '../../../lib/errors.ts';
import { CancelledFault, WorkBudgetExceededFault, WorkQueueFullFault } from '../flow/gatehouse-faults.ts';
import type { TaskBodyInput } from './tasks.ts';
import type { WorkerReply, WorkerRequest } from './serve.ts';

/** A task failed inside the worker (a bug, not a policy outcome: tasks return their findings). */
export class WorkerTaskError extends GatehouseError {
  constructor(task: string, message: string) {
    super('GH_ERR_WORKER_TASK', `worker task ${task} failed: ${message}`);
  }
}

/** The worker running a task died (out of memory, a crash) before answering. */
export class WorkerCrashedError extends GatehouseError {
  constructor(task: string, reason: string) {
    super('GH_ERR_WORKER_CRASHED', `worker running ${task} exited: ${reason}`);
  }
}

/** The pool was closed (shutdown) with the task still queued or running. */
export class WorkerPoolClosedError extends GatehouseError {
  constructor() {
    super('GH_ERR_WORKER_POOL_CLOSED', 'the worker pool is closed');
  }
}

export interface WorkerPoolOptions {
  /** Worker threads (at least 1). */
  size: number;
  /** Tasks that may wait for a worker beyond the running ones. */
  queueLimit: number;
  /** Old-generation heap limit of each worker, MiB: a task that needs more kills only its worker. */
  maxHeapMb?: number;
  log?: Logger;
  /** The worker's module (default worker.ts: the task table); tests give one with tasks they control. */
  script?: URL;
  /** Counts each task by how it ended (metrics). */
  onTask?: (task: string, result: TaskResult) => void;
}

export type TaskResult = 'done' | 'queue_full' | 'budget_exceeded' | 'cancelled' | 'failed' | 'crashed';

export interface RunOptions {
  /** performance.now() after which the task must not run or go on running. */
  deadline: number;
  /** The phase's budget, for the fault's message. */
  budgetMs: number;
  /** The stream ended: drop the task if it has not started. */
  signal?: AbortSignal;
}

interface Job {
  task: string;
  input: TaskBodyInput;
  options: RunOptions;
  resolve(value: unknown): void;
  reject(error: Error): void;
  cleanup(): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
  nextId: number;
}

export class WorkerPool {
  private readonly options: WorkerPoolOptions;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;

  constructor(options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1)
      throw new RangeError(`worker pool size ${options.size} < 1`);
    this.options = options;
    for (let i = 0; i < options.size; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Workers running a task. */
  get busy(): number {
    return this.slots.filter((s) => s.job).length;
  }

  /** Resolves when every worker has loaded the task code (tasks queue until then). */
  async ready(): Promise<void> {
    while (!this.closed && this.slots.some((s) => !s.ready)) await new Promise((r) => setTimeout(r, 5));
  }

  run<I extends TaskBodyInput>(task: string, input: I, options: RunOptions): Promise<unknown> {
    if (this.closed) return Promise.reject(new WorkerPoolClosedError());
    if (options.signal?.aborted) return Promise.reject(new CancelledFault());
    const idle = this.slots.find((s) => s.ready && !s.job);
    if (!idle && this.queue.length >= this.options.queueLimit) {
      this.count(task, 'queue_full');
      return Promise.reject(new WorkQueueFullFault());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.queue.indexOf(job);
        if (at < 0) return; // running: it finishes (within its budget) and its answer is dropped
        this.queue.splice(at, 1);
        this.settle(job, 'cancelled', new CancelledFault());
      };
      const job: Job = {
        task,
        input,
        options,
        resolve,
        reject,
        cleanup: () => options.signal?.removeEventListener('abort', onAbort),
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (idle) this.start(idle, job);
      else this.queue.push(job);
    });
  }

  /** Terminates every worker; queued and running tasks are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) this.settle(job, 'cancelled', new WorkerPoolClosedError());
    await Promise.all(
      this.slots.map(async (slot) => {
        clearTimeout(slot.timer);
        if (slot.job) this.settle(slot.job, 'cancelled', new WorkerPoolClosedError());
        slot.job = undefined;
        await slot.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = new Worker(this.options.script ?? new URL('./worker.ts', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb ?? 256 },
    });
    const slot: Slot = { worker, ready: false, job: undefined, timer: undefined, nextId: 0 };
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
    worker.on('error', (err: Error) => this.onExit(slot, err.message));
    worker.on('exit', (code) => this.onExit(slot, `exit code ${code}`));
    return slot;
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if (reply.kind === 'ready') {
      slot.ready = true;
      this.next(slot);
      return;
    }
    const job = slot.job;
    if (!job || reply.id !== slot.nextId) return; // an answer to a task already settled
    clearTimeout(slot.timer);
    slot.job = undefined;
    if (reply.kind === 'done') this.settle(job, 'done', undefined, reply.value);
    else this.settle(job, 'failed', new WorkerTaskError(job.task, reply.message));
    this.next(slot);
  }

  /** A worker ended (crash, out of memory, or terminated over budget): settle its task, replace it. */
  private onExit(slot: Slot, reason: string): void {
    const at = this.slots.indexOf(slot);
    if (at < 0 || this.closed) return;
    clearTimeout(slot.timer);
    if (slot.job) {
      this.options.log?.error({ task: slot.job.task, reason }, 'policy worker exited while running a task');
      this.settle(slot.job, 'crashed', new WorkerCrashedError(slot.job.task, reason));
    }
    slot.job = undefined;
    this.slots[at] = this.spawn();
  }

  private start(slot: Slot, job: Job): void {
    const wait = job.options.deadline - performance.now();
    if (wait <= 0) {
      this.settle(job, 'budget_exceeded', new WorkBudgetExceededFault(job.options.budgetMs));
      this.next(slot);
      return;
    }
    slot.job = job;
    slot.nextId++;
    // The body is copied into a buffer of its own and moved to the worker: the caller's Buffer may be a
    // view into a larger one (gRPC's message, Node's pool), which postMessage would copy whole.
    const body = new Uint8Array(job.input.body);
    const request: WorkerRequest = { id: slot.nextId, task: job.task, input: { ...job.input, body } };
    slot.worker.postMessage(request, [body.buffer]);
    slot.timer = setTimeout(() => {
      // Synchronous code cannot be interrupted: the worker goes, and a fresh one takes its place.
      slot.job = undefined;
      this.options.log?.warn(
        { task: job.task, budgetMs: job.options.budgetMs },
        'policy work over budget; worker replaced',
      );
      this.settle(job, 'budget_exceeded', new WorkBudgetExceededFault(job.options.budgetMs));
      const at = this.slots.indexOf(slot);
      if (at >= 0) this.slots[at] = this.spawn();
      slot.worker.removeAllListeners('exit');
      slot.worker.removeAllListeners('error');
      slot.worker.on('error', () => undefined);
      void slot.worker.terminate();
    }, wait);
  }

  /** Gives an idle, ready worker the next queued task that is still wanted. */
  private next(slot: Slot): void {
    if (this.closed || !slot.ready || slot.job) return;
    const job = this.queue.shift();
    if (job) this.start(slot, job);
  }

  private settle(job: Job, result: TaskResult, error?: Error, value?: unknown): void {
    job.cleanup();
    this.count(job.task, result);
    if (error) job.reject(error);
    else job.resolve(value);
  }

  private count(task: string, result: TaskResult): void {
    this.options.onTask?.(task, result);
  }
}
