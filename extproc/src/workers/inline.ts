// The Offload that runs every task inline, on the caller's thread: for policy tests and callers
// without a worker pool (`--work-threads 0`).
import type { Offload } from '../flow/offload.ts';
import { tasks } from './tasks.ts';

export const inlineOffload: Offload = {
  run: (task, input) => (tasks[task] as (input: unknown) => never)(input),
};
