// HeaderMutationRules as Envoy's mutation checker applies them to ext_proc header mutations
// (source/extensions/filters/common/mutation_rules/mutation_rules.cc, Checker::check / isAllowed /
// isValidValue): whether a set, append or remove is applied (OK), skipped and counted (IGNORE), or
// fails the request (FAIL, disallow_is_error).
import type { RE2JS } from 're2js';

/** envoy.config.common.mutation_rules.v3.HeaderMutationRules (an unset BoolValue is false). */
export interface MutationRules {
  allowAllRouting: boolean;
  allowEnvoy: boolean;
  disallowSystem: boolean;
  disallowAll: boolean;
  disallowIsError: boolean;
  allowExpression?: RE2JS;
  disallowExpression?: RE2JS;
}

/** Envoy builds its checker from the filter's mutation_rules even when unset: every field at its default. */
export const defaultMutationRules: MutationRules = {
  allowAllRouting: false,
  allowEnvoy: false,
  disallowSystem: false,
  disallowAll: false,
  disallowIsError: false,
};

export type CheckOperation = 'SET' | 'APPEND' | 'REMOVE';
export type CheckResult = 'OK' | 'IGNORE' | 'FAIL';

/** ExtraRoutingHeaders: host (legacy), :authority, :method, :scheme. :path and :status are not among them. */
const routingHeaders = new Set(['host', ':authority', ':method', ':scheme']);

/** HeaderUtility::headerValueIsValid: NUL, CR and LF are never valid in a value. */
export const headerValueIsValid = (value: string) => !/[\0\r\n]/.test(value);

/** HeaderUtility::authorityIsValid (oghttp2's IsValidAuthority): the characters an authority may hold. */
const authorityIsValid = (value: string) => /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]*$/.test(value);

/** Http::Utility::schemeIsValid: http or https, any case. */
const schemeIsValid = (value: string) => /^https?$/i.test(value);

/** HeaderUtility::isModifiableHeader: not a pseudo-header and not host. */
const isModifiableHeader = (name: string) => (name === '' || !name.startsWith(':')) && name !== 'host';

export class Checker {
  private readonly rules: MutationRules;
  /** Http::Headers::get().prefix(): "x-envoy", no dash (bootstrap header_prefix can change it). */
  private readonly envoyPrefix: string;

  constructor(rules: MutationRules = defaultMutationRules, envoyPrefix = 'x-envoy') {
    this.rules = rules;
    this.envoyPrefix = envoyPrefix;
  }

  /** Checker::isAllowed, in Envoy's order; the first rule that applies decides. */
  isAllowed(op: CheckOperation, name: string): boolean {
    const r = this.rules;
    if (op === 'REMOVE' && !isModifiableHeader(name)) return false;
    if (r.disallowExpression?.matches(name)) return false;
    if (r.allowExpression?.matches(name)) return true;
    if (r.disallowAll) return false;
    if (!r.allowAllRouting && routingHeaders.has(name)) return false;
    if (name.startsWith(':') && (op === 'APPEND' || r.disallowSystem)) return false;
    if (!r.allowEnvoy && name.startsWith(this.envoyPrefix)) return false;
    return true;
  }

  /** Checker::isValidValue (sets and appends only). */
  isValidValue(name: string, value: string): boolean {
    if (!name.startsWith(':') && !headerValueIsValid(value)) return false;
    if (name === 'host' || name === ':authority') return authorityIsValid(value);
    if (name === ':scheme') return schemeIsValid(value);
    if (name === ':status') return /^\d+$/.test(value) && Number(value) <= 0xffffffff && Number(value) >= 200;
    return true;
  }

  /** Checker::check: OK, else FAIL with disallow_is_error, else IGNORE. */
  check(op: CheckOperation, name: string, value: string): CheckResult {
    if (this.isAllowed(op, name) && (op === 'REMOVE' || this.isValidValue(name, value))) return 'OK';
    return this.rules.disallowIsError ? 'FAIL' : 'IGNORE';
  }
}
