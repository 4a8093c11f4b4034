// The policy work that may run off the event loop, by name (flow/offload.ts): pure functions of
// serialisable input (a body's bytes and plain config) to serialisable output. The same functions run
// inline for small bodies and in the pool's workers (worker.ts) for large ones, so a policy answers the
// same either way. Adding one: export the function next to the algorithm it runs, add a row here.
import { GatehouseError } from '../../../lib/errors.ts';
import { extractBodyTask } from '../policies/mediation/extract-variables.ts';
import { jsonThreatTask } from '../policies/security/json-threat-protection.ts';
import { regexBodyTask } from '../policies/security/regular-expression-protection.ts';
import { xmlThreatTask } from '../policies/security/xml-threat-protection.ts';

export const tasks = {
  'json.threat': jsonThreatTask,
  'xml.threat': xmlThreatTask,
  'regex.body': regexBodyTask,
  'extract.body': extractBodyTask,
};

export type Tasks = typeof tasks;

/** Every task's input carries the body it works on: its size decides where the task runs. */
export type TaskBodyInput = { body: Uint8Array };

/** Runs a task here, now (the inline path, and the worker's). */
export function runTask(name: string, input: unknown): unknown {
  const task = (tasks as Record<string, (input: unknown) => unknown>)[name];
  if (!task) throw new UnknownTaskError(name);
  return task(input);
}

/** A task name no row of the table has (a worker built from other code than the caller's). */
export class UnknownTaskError extends GatehouseError {
  constructor(name: string) {
    super('GH_ERR_UNKNOWN_TASK', `no offloadable task named "${name}"`);
  }
}
