// Script with a Python resource (docs/policies.md#script-python): Apigee's Python Script policy. The
// scripts run on the Python pool (python/pool.ts: pyodide in worker threads, sandboxed there), never on
// the event loop. Apigee's model: `flow.getVariable(name)` and `flow.setVariable(name, value)`, `print`
// to the debug log. The flow variables a script names as string literals in getVariable calls are copied
// in before the run (a name built at run time reads None: the thread cannot call back into the flow);
// the variables it sets are copied back and applied through the flow variables, so request.header.x,
// request.content and the rest change the message as any policy's would.
import { createHash } from 'node:crypto';
import {
  DEFAULT_PYTHON_TIME_LIMIT_MS,
  script as scriptSpec,
  type ScriptConfig,
} from '../../../../protos/policies/extension/python-script.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { PolicyConfigError } from '../support.ts';
import { pythonPool, type PythonOutcome } from './python/pool.ts';
import type { PythonValue } from './python/protocol.ts';

/** The most characters of one variable copied into a script, and of all of them. */
const MAX_VALUE_CHARS = 4 * 1024 * 1024;

/** Names read with a string literal: flow.getVariable("request.header.x") or 'x'. */
const GET_VARIABLE = /\.getVariable\(\s*(?:r|u)?(["'])((?:(?!\1)[^\\\n])+)\1\s*\)/g;

export function variablesRead(sources: readonly string[]): string[] {
  const names = new Set<string>();
  for (const text of sources) for (const match of text.matchAll(GET_VARIABLE)) names.add(match[2]!);
  return [...names];
}

function valueOf(ctx: PolicyContext, name: string): PythonValue {
  const value = ctx.variables.get(name);
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.slice(0, MAX_VALUE_CHARS);
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  return ctx.variables.getString(name)?.slice(0, MAX_VALUE_CHARS) ?? null;
}

function evaluationFailed(meta: PolicyMeta, resource: string, reason: string): PolicyFault {
  // Apigee's one runtime error for the Python Script policy, with its faultstring.
  return new PolicyFault({
    status: 500,
    errorCode: 'steps.script.ScriptEvaluationFailed',
    faultString: `Evaluation of script ${resource} (py) failed with reason: "${reason}"`,
  });
}

function describe(outcome: Extract<PythonOutcome, { kind: 'failed' }>, timeLimit: number): string {
  if (outcome.reason === 'timeout') return `TimeoutError: the script ran over its timeLimit of ${timeLimit} ms`;
  if (outcome.reason === 'crashed') return 'SystemError: the script stopped its interpreter';
  return outcome.line !== undefined ? `${outcome.message} (line ${outcome.line})` : outcome.message;
}

export const pythonScriptPolicy: PolicyImplementation<ScriptConfig> = {
  type: 'Script',
  create(config, meta) {
    const problems = scriptSpec.validate?.(config) ?? [];
    if (problems.length > 0)
      throw new PolicyConfigError(meta, problems.map((p) => `script.${p.path}: ${p.message}`).join('; '));
    const name = (url: string) => url.slice('py://'.length);
    const sources: Array<[string, string]> = [
      ...(config.includes ?? []).map((i): [string, string] => [name(i.resourceURL), i.source]),
      [name(config.resourceURL), config.source],
    ];
    const key = createHash('sha256').update(JSON.stringify(sources)).digest('base64url');
    const reads = variablesRead(sources.map(([, text]) => text));
    const timeLimit = config.timeLimit ?? DEFAULT_PYTHON_TIME_LIMIT_MS;
    const properties = config.properties ?? {};
    const resource = name(config.resourceURL);
    // The snapshot holds a Script policy: start the pool now, so its threads load before traffic.
    const pool = pythonPool();
    return async (ctx) => {
      const values: Record<string, PythonValue> = {};
      for (const variable of reads) {
        const value = valueOf(ctx, variable);
        if (value !== null) values[variable] = value; // absent: the script's getVariable gives None
      }
      const outcome = await pool.run({
        key,
        sources,
        values,
        properties,
        timeLimitMs: timeLimit,
        waitDeadline: performance.now() + pool.waitMs,
        waitBudgetMs: pool.waitMs,
      });
      for (const line of outcome.printed) ctx.log.debug({ policy: meta.name, printed: line }, 'python script print');
      if (outcome.kind === 'failed') {
        if (outcome.reason !== 'error')
          ctx.log.warn({ policy: meta.name, reason: outcome.reason }, 'python script stopped');
        throw evaluationFailed(meta, resource, describe(outcome, timeLimit));
      }
      for (const [variable, value] of Object.entries(outcome.sets)) ctx.variables.set(variable, value);
      return undefined;
    };
  },
};
