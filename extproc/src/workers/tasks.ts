// The policy work that may run off the event loop, by name (flow/offload.ts): pure functions of
// serialisable input (a body's bytes and plain config) to serialisable output. The same functions run
// inline for small bodies and in the pool's workers (worker.ts) for large ones, so a policy answers the
// same either way. Adding one: export the function next to the algorithm it runs, add a row here.
import { GatehouseError } from '../../../lib/errors.ts';
import { javaScriptTask } from '../policies/extension/javascript.ts';
import { extractBodyTask } from '../policies/mediation/extract-variables.ts';
import { jsonToXmlTask } from '../policies/mediation/json-to-xml.ts';
import { xmlToJsonTask } from '../policies/mediation/xml-to-json.ts';
import { soapValidateTask } from '../policies/mediation/soap-message-validation.ts';
import { xslTransformTask } from '../policies/mediation/xsl-transform.ts';
import { jsonThreatTask } from '../policies/security/json-threat-protection.ts';
import { regexBodyTask } from '../policies/security/regular-expression-protection.ts';
import { xmlThreatTask } from '../policies/security/xml-threat-protection.ts';

export const tasks = {
  'json.threat': jsonThreatTask,
  'xml.threat': xmlThreatTask,
  'regex.body': regexBodyTask,
  'extract.body': extractBodyTask,
  'xml.toJson': xmlToJsonTask,
  'json.toXml': jsonToXmlTask,
  'xsl.transform': xslTransformTask,
  'soap.validate': soapValidateTask,
  'javascript.run': javaScriptTask,
};

export type Tasks = typeof tasks;

/** Every task's input carries the body it works on: its size decides where the task runs. */
export type TaskBodyInput = { body: Uint8Array };

/**
 * How many scan-equivalent bytes a task's input costs, for the offload threshold: querying a body
 * costs more per byte than scanning it, so a query goes to the pool from a smaller body. Measured on
 * worst-case shapes (50 levels, then one wide container) of 64-256 KiB on the 2-core development
 * machine: RegularExpressionProtection with `$..*` took 7-9x JSONThreatProtection's scan of the same
 * body, with `//*` 35-60x; the weights round up (docs/failure-modes.md).
 */
export function taskWeight(name: keyof Tasks, input: TaskBodyInput): number {
  const bytes = input.body.length;
  switch (name) {
    case 'json.threat':
    case 'xml.threat':
      return bytes;
    case 'regex.body': {
      const i = input as Parameters<Tasks['regex.body']>[0];
      return bytes * (i.xml ? 64 : 8);
    }
    case 'extract.body': {
      const i = input as Parameters<Tasks['extract.body']>[0];
      return bytes * (i.spec.xPaths.length > 0 ? 64 : 8);
    }
    // Parse, map and serialise: per byte about what a JSONPath query costs (npm run bench:conversions).
    case 'xml.toJson':
    case 'json.toXml':
      return bytes * 8;
    // A stylesheet can loop whatever the input's size: only the pool's budget stops it.
    case 'xsl.transform':
      return Infinity;
    // A script's CPU time is its own (up to its timeLimit), whatever the body: off the event loop always.
    case 'javascript.run':
      return Infinity;
    // XSD validation is linear in the body, but a schema's content models cost more per byte than a scan.
    case 'soap.validate':
      return bytes * 16;
  }
}

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
