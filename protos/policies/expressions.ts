// What policy configs read: RE2 and JSONPath checks (checks.ts), and which refs and templates read a
// message body (so the compiler asks Envoy to buffer it).
import { templateVariables } from './templates.ts';

export { jsonPathProblem, re2Problem } from './checks.ts';

/** Variables whose value is read from a message body (so a step reading them needs it buffered). */
function isBodyVariable(name: string, phase: 'request' | 'response'): boolean {
  return phase === 'request'
    ? name === 'request.content' || name.startsWith('request.formparam.')
    : name === 'response.content';
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
