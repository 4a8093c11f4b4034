// HeaderMutationRules as Envoy's mutation-rules checker applies them to ext_proc header mutations:
// whether a header may be set or removed, is ignored (counted as rejected), or fails the request.
import type { MutationCheck } from '../ext-proc/header-mutation.ts';
import type { MutationRules } from '../config/model.ts';

/** host and the routing pseudo-headers; changing them would re-route the request. */
const routingHeaders = new Set(['host', ':authority', ':scheme', ':method']);

/** A header value Envoy would refuse outright (CR, LF or NUL would split or truncate the header). */
const invalidValue = (value: string | undefined) => value !== undefined && /[\r\n\0]/.test(value);

export function mutationCheck(rules: MutationRules): MutationCheck {
  const refuse = rules.disallowIsError ? 'fail' : 'ignore';
  return (header, value) => {
    if (invalidValue(value)) return 'fail';
    if (rules.disallowAll) return refuse;
    // disallow_system holds "regardless of any other settings".
    if (header.startsWith(':') && rules.disallowSystem) return refuse;
    if (rules.disallowExpression?.matches(header)) return refuse;
    if (rules.allowExpression?.matches(header)) return 'allow';
    if (routingHeaders.has(header) && !rules.allowAllRouting) return refuse;
    if (header.startsWith('x-envoy-') && !rules.allowEnvoy) return refuse;
    return 'allow';
  };
}
