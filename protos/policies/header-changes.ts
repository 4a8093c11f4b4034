// Which header changes a policy may make: exactly those the ext_proc mutation rules Gatehouse compiles
// let Envoy apply (operator/src/compile/envoy/ext-proc.ts; Envoy's Checker::isAllowed and
// MutationUtils::applyHeaderMutations). The compiler refuses a configured header name outside them;
// extproc refuses at run time what only a request can tell (a value, a name from a variable).

export type HeaderOperation = 'set' | 'add' | 'remove';

/** RFC 9110 token (HeaderUtility::headerNameIsValid for a header that is not a pseudo-header). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Why Envoy would not apply this change of header `name` (any case), or undefined when it would. */
export function headerNameProblem(op: HeaderOperation, name: string): string | undefined {
  const key = name.toLowerCase();
  if (key.startsWith(':')) return 'a pseudo-header changes only through the verb, path or status code';
  if (!TOKEN.test(key)) return 'not a valid header name';
  // The prefix has no dash: Envoy refuses x-envoyfoo as well (allow_envoy: false).
  if (key.startsWith('x-envoy')) return 'x-envoy headers belong to Envoy';
  if (key === 'host' && op === 'remove') return 'Host cannot be removed';
  if (key === 'host' && op === 'add') return 'Host has exactly one value; set it';
  return undefined;
}

/** The header a message variable names when it is assigned (`request.header.x`), or undefined. */
export function assignedHeader(variable: string): string | undefined {
  const m = /^(?:request|response)\.header\.(.+)$/.exec(variable);
  return m?.[1];
}
