// JavaScript: user code run in a QuickJS sandbox with Apigee's object model (docs/policies.md#javascript).
// The scripts are inline in the config (Apigee's ResourceURL and IncludeURL jsc://name name them; the
// importer reads them from the bundle's resources/jsc/), like XSLTransform's stylesheet. Checked here,
// at compile time and again at extproc's create(): sizes, jsc:// labels, and that every script parses.
// The parse is V8's (node:vm compiles without running anything): the compiler must stay synchronous
// and free of I/O, and QuickJS only loads asynchronously; extproc compiles the scripts in QuickJS again.
import { Script } from 'node:vm';
import type { PolicyTypeSpec } from '../index.ts';
import {
  inlineTextProblems,
  textOrConfigMap,
  type ConfigMapRef,
  type ConfigProblem,
  type JSONSchema,
} from '../schema.ts';

/** The largest script (the resource or one include), in characters. */
export const MAX_SCRIPT_CHARS = 256 * 1024;
/** The most includes a policy may list. */
export const MAX_INCLUDES = 16;
/** Apigee's timeLimit has no documented maximum; ours keeps a runaway script from holding a worker. */
export const MAX_TIME_LIMIT_MS = 10_000;
export const DEFAULT_TIME_LIMIT_MS = 200;

export interface JavaScriptInclude {
  /** jsc://name */
  url: string;
  source: string;
  /** Instead of source: a key of a ConfigMap of the namespace (resolved by the operator). */
  configMapRef?: ConfigMapRef;
}

export interface JavaScriptConfig {
  /** Milliseconds the script may run (Apigee's timeLimit attribute); default 200. */
  timeLimit?: number;
  /** The label Apigee's ResourceURL gives the script: jsc://name. */
  resourceURL?: string;
  /** The script itself. */
  source: string;
  /** Instead of source: a key of a ConfigMap of the namespace (resolved by the operator). */
  configMapRef?: ConfigMapRef;
  /** Scripts run before `source`, in order (Apigee's IncludeURL). */
  includes?: JavaScriptInclude[];
  /** Read by the script as `properties.name` (Apigee's Properties/Property). */
  properties?: Record<string, string>;
}

const JSC_URL = '^jsc://[A-Za-z0-9_.-]+$';

const script = (description: string): JSONSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: MAX_SCRIPT_CHARS,
  description,
});

/** Why `source` does not parse as a script, or undefined when it does. Nothing of it runs. */
export function scriptSyntaxProblem(source: string, filename: string): string | undefined {
  try {
    new Script(source, { filename });
    return undefined;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // The stack's first line is "file:line"; the message alone would not say where.
    const where = /^([^\n]*:\d+)\n/.exec(error.stack ?? '')?.[1];
    return `${error.message}${where ? ` (${where})` : ''}`;
  }
}

function validateJavaScript(config: JavaScriptConfig): ConfigProblem[] {
  const pending = inlineTextProblems(javaScript.schema, config);
  if (pending.length > 0) return pending;
  const problems: ConfigProblem[] = [];
  const label = (url: string | undefined, fallback: string) => url?.slice('jsc://'.length) ?? fallback;
  const includes = config.includes ?? [];
  for (const [i, include] of includes.entries()) {
    const problem = scriptSyntaxProblem(include.source, label(include.url, `include-${i}`));
    if (problem) problems.push({ path: `includes[${i}].source`, message: `the script does not parse: ${problem}` });
  }
  const problem = scriptSyntaxProblem(config.source, label(config.resourceURL, 'source'));
  if (problem) problems.push({ path: 'source', message: `the script does not parse: ${problem}` });
  const seen = new Set<string>();
  for (const [i, include] of includes.entries()) {
    if (seen.has(include.url)) problems.push({ path: `includes[${i}].url`, message: `${include.url} is listed twice` });
    seen.add(include.url);
  }
  return problems;
}

export const javaScript: PolicyTypeSpec = {
  type: 'JavaScript',
  member: 'javaScript',
  group: 'extension',
  schema: textOrConfigMap(
    {
      type: 'object',
      description:
        "JavaScript: runs a script in a QuickJS sandbox (WebAssembly) with Apigee's object model (context, request, response, crypto, print, properties), within a time limit, a memory limit and a stack limit, on the worker pool. No host access: no filesystem, process, timers or network. Apigee: <Javascript>.",
      required: ['source'],
      properties: {
        timeLimit: {
          type: 'integer',
          minimum: 1,
          maximum: MAX_TIME_LIMIT_MS,
          description: `Milliseconds the script may run, includes included; over it the step fails with steps.javascript.ScriptExecutionFailed. Default ${DEFAULT_TIME_LIMIT_MS}, at most ${MAX_TIME_LIMIT_MS}. Apigee: the timeLimit attribute.`,
        },
        resourceURL: {
          type: 'string',
          pattern: JSC_URL,
          maxLength: 256,
          description:
            'A label for the script, jsc://name, as Apigee names it (used in fault strings); the script itself is `source`. Apigee: <ResourceURL>.',
        },
        source: script(
          'The script, inline (at most 256 KiB); or configMapRef. Checked at compile time: it must parse. Apigee: the jsc resource ResourceURL names.',
        ),
        includes: {
          type: 'array',
          maxItems: MAX_INCLUDES,
          description: `Scripts run before source, in order, in the same scope (at most ${MAX_INCLUDES}). Apigee: <IncludeURL>.`,
          items: textOrConfigMap(
            {
              type: 'object',
              required: ['url', 'source'],
              description: 'One included script: its jsc:// label and its text.',
              properties: {
                url: {
                  type: 'string',
                  pattern: JSC_URL,
                  maxLength: 256,
                  description: 'jsc://name. Apigee: <IncludeURL>.',
                },
                source: script('The included script, inline; or configMapRef.'),
              },
            },
            'source',
          ),
        },
        properties: {
          type: 'object',
          maxProperties: 64,
          additionalProperties: { type: 'string', maxLength: 8192, description: 'The value of one property.' },
          description:
            'Values the script reads as properties.name (at most 64, each at most 8 KiB). Apigee: <Properties><Property name="...">.',
        },
      },
    },
    'source',
  ),
  needsBody: () => true,
  validate: (config) => validateJavaScript(config as JavaScriptConfig),
};
