// Policy work that may leave the event loop (docs/architecture.md#the-envoy-and-extproc-contract: no request stalls another). A policy hands its
// CPU-heavy part (scanning or querying a large body) to `ctx.offload` as one of the pure tasks of
// workers/tasks.ts, with serialisable input (the body's bytes and plain config), and gets the task's
// result back: at once when the body is small (the task runs inline: a round trip to a worker costs
// more than the work), or as a promise when it runs on the worker pool. Policies stay pure functions
// of (config, message, variables, stores): the pool is a capability of the context, like the stores.
import type { Tasks } from '../workers/tasks.ts';

export type TaskName = keyof Tasks;
export type TaskInput<K extends TaskName> = Parameters<Tasks[K]>[0];
export type TaskOutput<K extends TaskName> = ReturnType<Tasks[K]>;

export interface Offload {
  /**
   * Runs `task` on `input` (whose `body` sizes the work): inline and synchronously for small bodies,
   * else on the worker pool. The pool refuses with a PolicyFault when it is full (503
   * gatehouse.WorkQueueFull) or the phase's budget runs out (503 gatehouse.WorkBudgetExceeded).
   */
  run<K extends TaskName>(task: K, input: TaskInput<K>): TaskOutput<K> | Promise<TaskOutput<K>>;
}

/** `next(value)` now for a plain value, or once the promise settles: policies stay synchronous for small bodies. */
export function settle<T, R>(value: T | Promise<T>, next: (value: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then<R>(next) : next(value);
}
