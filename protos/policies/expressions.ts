// Checks for the expression languages policy configs embed, shared by the compiler (validate) and
// extproc (create): RE2 patterns and JSONPath.
import { RE2JS } from 're2js';
import { JsonPathSyntaxError, parseJsonPath } from './json-path.ts';

/** Why RE2 cannot compile `pattern`, or undefined when it can. */
export function re2Problem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (error) {
    return `pattern "${pattern}" is not valid RE2 syntax: ${(error as Error).message}`;
  }
}

/**
 * Why a JSONPath expression is not supported, or undefined: anything outside the dialect of
 * json-path.ts, which extproc evaluates in time linear in the document. Filter and script expressions
 * (`[?(...)]`, `[(...)]`) would run an expression evaluator on user input; they are refused.
 */
export function jsonPathProblem(expression: string): string | undefined {
  try {
    parseJsonPath(expression);
    return undefined;
  } catch (error) {
    if (error instanceof JsonPathSyntaxError) return error.message;
    throw error;
  }
}

/** Variables whose value is read from a message body (so a step reading them needs it buffered). */
function isBodyVariable(name: string, phase: 'request' | 'response'): boolean {
  return phase === 'request'
    ? name === 'request.content' || name.startsWith('request.formparam.')
    : name === 'response.content';
}

/** `{name}` where name is variable-name shaped; JSON such as `{"error":"x"}` is not a reference. */
export const TEMPLATE_REFERENCE = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

/** The variable names `{name}` references of a template. */
export function templateVariables(template: string): string[] {
  return [...template.matchAll(TEMPLATE_REFERENCE)].map((m) => m[1]!);
}

/**
 * Whether any of these values (variable names, `{ref}` values, templates, undefined) reads the body
 * of the phase's message: what needsBody must report beyond a policy's own body work.
 */
export function readsBodyVariable(
  phase: 'request' | 'response',
  values: { names?: (string | undefined)[]; templates?: (string | undefined)[] },
): boolean {
  const names = [
    ...(values.names ?? []).filter((n): n is string => n !== undefined),
    ...(values.templates ?? []).flatMap((t) => (t === undefined ? [] : templateVariables(t))),
  ];
  return names.some((n) => isBodyVariable(n, phase));
}

/** The variable a `{ref}` value names, or undefined for a literal. */
export function refName(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' && typeof (value as { ref?: unknown }).ref === 'string'
    ? (value as { ref: string }).ref
    : undefined;
}
