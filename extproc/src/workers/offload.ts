// The Offload a stream gives its policies (flow/offload.ts): a task whose weight (its body's size,
// times 8 for JSONPath and 64 for XPath work: tasks.ts taskWeight) is under `minBytes` runs inline,
// holding the event loop for about a millisecond at most (a trip to a worker costs a 30-50 us round
// trip, the body's copy and maybe a wait for a free worker); a heavier one goes to the worker pool with the phase's deadline (`budgetMs` from
// the start of the phase: queueing and running included) and the stream's abort signal.
import type { Offload, TaskInput, TaskName, TaskOutput } from '../flow/offload.ts';
import type { WorkerPool } from './pool.ts';
import { tasks, taskWeight } from './tasks.ts';

export interface OffloadLimits {
  /** Tasks weighing at least this much (scan-equivalent body bytes) go to the pool. */
  minBytes: number;
  /** Policy work allowed per phase on the pool, queueing included. */
  budgetMs: number;
}

export class StreamOffload implements Offload {
  private readonly pool: WorkerPool | undefined;
  private readonly limits: OffloadLimits;
  private readonly signal: AbortSignal | (() => AbortSignal);
  private deadline = Infinity;

  /**
   * `signal` may be given as a function, called only when a task goes to the pool: a stream then makes
   * its AbortController only if it ever queues work (stream.ts).
   */
  constructor(pool: WorkerPool | undefined, limits: OffloadLimits, signal: AbortSignal | (() => AbortSignal)) {
    this.pool = pool;
    this.limits = limits;
    this.signal = signal;
  }

  /** A phase (request or response flow) starts: its policy work has `budgetMs` from now. */
  startPhase(): void {
    this.deadline = performance.now() + this.limits.budgetMs;
  }

  run<K extends TaskName>(task: K, input: TaskInput<K>): TaskOutput<K> | Promise<TaskOutput<K>> {
    if (!this.pool || taskWeight(task, input) < this.limits.minBytes) {
      return (tasks[task] as (input: TaskInput<K>) => TaskOutput<K>)(input);
    }
    return this.pool.run(task, input, {
      deadline: this.deadline,
      budgetMs: this.limits.budgetMs,
      signal: typeof this.signal === 'function' ? this.signal() : this.signal,
    }) as Promise<TaskOutput<K>>;
  }
}
