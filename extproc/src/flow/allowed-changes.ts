// What a policy may change in a message: exactly what the ext_proc mutation rules Gatehouse compiles let
// Envoy apply (operator/src/compile/envoy/ext-proc.ts; Envoy's Checker::isAllowed / isValidValue and
// MutationUtils::applyHeaderMutations), so that no change a policy makes is dropped or turned into an
// empty 500 by Envoy (docs/architecture.md#the-envoy-and-extproc-contract). A change outside them is
// refused where the policy makes it: the step fails with gatehouse.RefusedChange, logged with the
// policy and the header, and counted with the other faults.
import { GatehouseError } from '../../../lib/errors.ts';
import { headerNameProblem, type HeaderOperation } from '../../../protos/policies/header-changes.ts';

export class RefusedChangeError extends GatehouseError {
  /** The header (or `:method`, `:path`, `:status`) the policy tried to change. */
  readonly header: string;
  readonly reason: string;
  constructor(header: string, reason: string) {
    super('GH_ERR_REFUSED_CHANGE', `${header}: ${reason}`);
    this.header = header;
    this.reason = reason;
  }
}

/** RFC 9110 token (HeaderUtility::headerNameIsValid for a header that is not a pseudo-header). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** HeaderUtility::authorityIsValid: the characters an authority may hold. */
const AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]+$/;
/** NUL, CR and LF: Envoy refuses the whole mutation ("Invalid character in set_headers mutation", 500). */
const INVALID_VALUE = /[\0\r\n]/;
/** What may not stand in a request target sent upstream: controls, space, DEL, and a fragment. */
const INVALID_TARGET = /[\0-\x20\x7f#]/;

/** Throws unless Envoy would apply this change of header `name` (lower-cased) with the compiled rules. */
export function checkHeaderChange(op: HeaderOperation, name: string, value?: string): void {
  const problem = headerNameProblem(op, name);
  if (problem) throw new RefusedChangeError(/^[\x21-\x7e]+$/.test(name) ? name : JSON.stringify(name), problem);
  if (value === undefined) return;
  if (INVALID_VALUE.test(value)) throw new RefusedChangeError(name, 'the value contains CR, LF or NUL');
  if (name === 'host' && !AUTHORITY.test(value))
    throw new RefusedChangeError(name, 'the value is not a host[:port] authority');
}

export function checkMethod(method: string): void {
  if (!TOKEN.test(method)) throw new RefusedChangeError(':method', 'the verb is not an HTTP method token');
}

/** The path or the query of the request target. */
export function checkTarget(part: 'path' | 'query', text: string): void {
  if (part === 'path' && !text.startsWith('/')) throw new RefusedChangeError(':path', 'the path does not start with /');
  if (INVALID_TARGET.test(text))
    throw new RefusedChangeError(':path', `the ${part} contains a control character, a space or #`);
}

/** Checker::isValidValue for :status: a number >= 200 (and three digits, as HTTP writes it). */
export function checkStatus(status: number): void {
  if (!Number.isInteger(status) || status < 200 || status > 999)
    throw new RefusedChangeError(':status', 'the status code is not a number from 200 to 999');
}
