// Script: Apigee's Python Script policy (`<Script>` with a `py://` ResourceURL), run by CPython compiled
// to WebAssembly in extproc's worker threads (docs/policies.md#script-python). The scripts are inline in
// the config (`gatehouse import apigee` copies them from the bundle's resources/py/); the compiler checks
// names and sizes only: checking Python syntax needs a Python, and the operator runs none, so a syntax
// error shows as steps.script.ScriptEvaluationFailed on the first request (the fault names the line).
import type { PolicyTypeSpec } from '../index.ts';
import {
  inlineTextProblems,
  textOrConfigMap,
  type ConfigMapRef,
  type ConfigProblem,
  type JSONSchema,
} from '../schema.ts';

/** The largest script, and the largest total of a policy's scripts, in characters. */
export const MAX_PYTHON_SOURCE_CHARS = 256 * 1024;
/**
 * Apigee documents no default for the Script policy's timeLimit; 200 ms is the value its examples use, and
 * stays within the DataPlane's default messageTimeout (200 ms) budget of 180 ms plus the script's start.
 */
export const DEFAULT_PYTHON_TIME_LIMIT_MS = 200;
export const MAX_PYTHON_TIME_LIMIT_MS = 60_000;

export interface PythonResource {
  /** py://name, as Apigee's ResourceURL or IncludeURL names the file under resources/py/. */
  resourceURL: string;
  /** The file's Python text. */
  source: string;
  /** Instead of source: a key of a ConfigMap of the namespace (resolved by the operator). */
  configMapRef?: ConfigMapRef;
}

export interface ScriptConfig {
  resourceURL: string;
  source: string;
  /** Instead of source: a key of a ConfigMap of the namespace (resolved by the operator). */
  configMapRef?: ConfigMapRef;
  /** Run before the resource, in order (Apigee: IncludeURL). */
  includes?: PythonResource[];
  /** Milliseconds the scripts may run (Apigee: the timeLimit attribute). */
  timeLimit?: number;
  /** Given to the script as the `properties` dict (Apigee: Properties/Property). */
  properties?: Record<string, string>;
}

const RESOURCE_URL = '^py://[A-Za-z0-9_.-]{1,200}$';

const resourceURL = (description: string): JSONSchema => ({
  type: 'string',
  pattern: RESOURCE_URL,
  maxLength: 205,
  description,
});

const source = (description: string): JSONSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: MAX_PYTHON_SOURCE_CHARS,
  description,
});

function validateScript(config: ScriptConfig): ConfigProblem[] {
  const pending = inlineTextProblems(script.schema, config);
  if (pending.length > 0) return pending;
  const problems: ConfigProblem[] = [];
  const total = config.source.length + (config.includes ?? []).reduce((n, i) => n + i.source.length, 0);
  if (total > MAX_PYTHON_SOURCE_CHARS) {
    problems.push({ path: 'source', message: `the scripts together exceed ${MAX_PYTHON_SOURCE_CHARS} characters` });
  }
  for (const [i, text] of [config.source, ...(config.includes ?? []).map((x) => x.source)].entries()) {
    if (text.includes('\0')) {
      problems.push({
        path: i === 0 ? 'source' : `includes[${i - 1}].source`,
        message: 'a script may not contain NUL',
      });
    }
  }
  return problems;
}

export const script: PolicyTypeSpec = {
  type: 'Script',
  member: 'script',
  group: 'extension',
  schema: textOrConfigMap(
    {
      type: 'object',
      description:
        "Script: Apigee's Python Script policy. Runs Python 3 (CPython in WebAssembly, pyodide) in a sandbox on extproc's worker threads, with Apigee's `flow.getVariable`/`flow.setVariable`; no files, processes, network or JavaScript. Apigee: <Script> with <ResourceURL>py://...",
      required: ['resourceURL', 'source'],
      properties: {
        resourceURL: resourceURL('The script, py://name (a label; its text is `source`). Apigee: <ResourceURL>.'),
        source: source(
          'The Python text of the resource, at most 256 KiB (all scripts together as well). Apigee: the file under resources/py/ that ResourceURL names.',
        ),
        includes: {
          type: 'array',
          maxItems: 16,
          description: 'Scripts run before the resource, in order, in the same namespace. Apigee: <IncludeURL>.',
          items: textOrConfigMap(
            {
              type: 'object',
              required: ['resourceURL', 'source'],
              description: 'One included script.',
              properties: {
                resourceURL: resourceURL('py://name. Apigee: <IncludeURL>.'),
                source: source('The Python text of the included file; or configMapRef.'),
              },
            },
            'source',
          ),
        },
        timeLimit: {
          type: 'integer',
          minimum: 1,
          maximum: MAX_PYTHON_TIME_LIMIT_MS,
          description:
            'Milliseconds the scripts may run (default 200; keep it under the DataPlane messageTimeout); over it the script is interrupted and the step fails with steps.script.ScriptEvaluationFailed. Apigee: the timeLimit attribute.',
        },
        properties: {
          type: 'object',
          maxProperties: 64,
          additionalProperties: { type: 'string', maxLength: 8192, description: 'The property value.' },
          description:
            'Name-value pairs the script reads as the dict `properties`. Apigee: <Properties><Property name>.',
        },
      },
    },
    'source',
  ),
  // A script can read request.content or response.content through flow.getVariable.
  needsBody: (config, phase) =>
    new RegExp(`\\b(${phase}|message)\\.content\\b`).test(allSources(config as ScriptConfig)),
  validate: (config) => validateScript(config as ScriptConfig),
};

function allSources(config: ScriptConfig): string {
  return [config.source, ...(config.includes ?? []).map((i) => i.source)].join('\n');
}
