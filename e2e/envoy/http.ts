// The HTTP side of the Envoy stand-in: requests and responses as Envoy holds them (lower-cased header
// list, pseudo-headers apart), and how Envoy applies an ext_proc HeaderMutation to them.
import { GatehouseError } from '../../lib/errors.ts';
import type { HeaderMutation__Output } from '../../protos/gen/envoy/envoy/service/ext_proc/v3/HeaderMutation.ts';

export type HeaderList = Array<[string, string]>;

export interface HttpRequest {
  method: string;
  /** Path with query string, as `:path`. */
  path: string;
  scheme?: string;
  authority?: string;
  headers: HeaderList;
  body?: Buffer;
  trailers?: HeaderList;
}

export interface HttpResponse {
  status: number;
  headers: HeaderList;
  body: Buffer;
  trailers?: HeaderList;
}

export function header(headers: HeaderList, name: string): string | undefined {
  const key = name.toLowerCase();
  return headers.find(([n]) => n === key)?.[1];
}

/** Mutations Envoy would not apply (DESIGN 6): kept so tests can assert none were sent. */
export interface MutationViolation {
  header: string;
  reason: string;
}

/**
 * The filter's HeaderMutationRules: whether Envoy applies a set or remove of a header, ignores it
 * ('ignore', counted as a rejected mutation) or fails the request ('fail', disallow_is_error).
 */
export type MutationCheck = (header: string, value: string | undefined) => 'allow' | 'ignore' | 'fail';

/** A mutation the rules refuse with disallow_is_error: Envoy ends the request as a processing failure. */
export class MutationRefused extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_DEVPROXY_MUTATION_REFUSED', message);
  }
}

/** Without explicit rules: pseudo-headers go to `pseudo`, host and x-envoy-* are refused. */
const defaultCheck: MutationCheck = (key) => (key === 'host' || key.startsWith('x-envoy-') ? 'ignore' : 'allow');

/**
 * Applies a HeaderMutation as Envoy's ext_proc filter does: removals first, then each set with its
 * append action. `pseudo` receives route-changing pseudo-headers (`:path`, `:method`, `:status`) the
 * rules allow; `check` plays the mutation rules (default: host and x-envoy-* are refused); a value
 * given in `value` instead of `raw_value` is a violation.
 */
export function applyHeaderMutation(
  headers: HeaderList,
  mutation: HeaderMutation__Output | null | undefined,
  pseudo: (name: string, value: string) => boolean,
  violations: MutationViolation[],
  check: MutationCheck = defaultCheck,
): HeaderList {
  if (!mutation) return headers;
  let out = headers;
  const allowed = (key: string, value: string | undefined, reason: string): boolean => {
    const verdict = key.startsWith(':') && value === undefined ? 'ignore' : check(key, value);
    if (verdict === 'allow') return true;
    violations.push({ header: key, reason });
    if (verdict === 'fail') throw new MutationRefused(`header mutation of ${key} disallowed`);
    return false;
  };
  for (const name of mutation.removeHeaders) {
    const key = name.toLowerCase();
    if (!allowed(key, undefined, 'remove of a protected header')) continue;
    out = out.filter(([n]) => n !== key);
  }
  for (const option of mutation.setHeaders) {
    const key = option.header?.key.toLowerCase() ?? '';
    const raw = option.header?.rawValue;
    if (!raw || raw.length === 0) {
      if (option.header?.value) violations.push({ header: key, reason: 'value set without raw_value' });
    }
    const value = raw && raw.length > 0 ? raw.toString('latin1') : (option.header?.value ?? '');
    if (key.startsWith(':')) {
      if (allowed(key, value, 'pseudo-header the mutation rules refuse') && !pseudo(key, value))
        violations.push({ header: key, reason: 'pseudo-header Envoy would not change here' });
      continue;
    }
    if (!allowed(key, value, 'protected header')) continue;
    const exists = out.some(([n]) => n === key);
    switch (option.appendAction) {
      case 'APPEND_IF_EXISTS_OR_ADD':
        out = [...out, [key, value]];
        break;
      case 'ADD_IF_ABSENT':
        if (!exists) out = [...out, [key, value]];
        break;
      case 'OVERWRITE_IF_EXISTS':
        if (exists) out = [...out.filter(([n]) => n !== key), [key, value]];
        break;
      default:
        out = [...out.filter(([n]) => n !== key), [key, value]];
    }
  }
  return out;
}
