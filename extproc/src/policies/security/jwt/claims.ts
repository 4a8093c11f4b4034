// Claims and headers: typed values from <Claim>/<Header> config (literal or variable, string, number,
// boolean or map, optionally an array), how a token's value is held to a configured one, and the
// jwt.{policy}.* / jws.{policy}.* variables a decoded token sets (docs/policies.md#verifyjwt).
import { isDeepStrictEqual } from 'node:util';
import type { ClaimConfig } from '../../../../../protos/policies/security/jwt-common.ts';
import type { Variables } from '../../../flow/types.ts';

/** Text of a variable value: objects as JSON. */
function textOf(raw: unknown): string {
  return typeof raw === 'object' && raw !== null ? JSON.stringify(raw) : String(raw);
}

function scalar(type: ClaimConfig['type'], raw: unknown): unknown {
  switch (type) {
    case 'number':
      return typeof raw === 'number' ? raw : Number(textOf(raw).trim());
    case 'boolean':
      return typeof raw === 'boolean' ? raw : /^true$/i.test(textOf(raw).trim());
    case 'map':
      return typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
    default:
      return textOf(raw);
  }
}

/** The claim's value, typed; undefined when its variable is unset. Throws when a map ref is not JSON. */
export function claimValue(variables: Variables, claim: ClaimConfig): unknown {
  const raw = claim.ref !== undefined ? variables.get(claim.ref) : claim.value;
  if (raw === undefined || raw === null) return undefined;
  if (!claim.array) return scalar(claim.type, raw);
  const items = Array.isArray(raw)
    ? raw
    : textOf(raw)
        .split(',')
        .map((s) => s.trim());
  return items.map((item) => scalar(claim.type, item));
}

/**
 * Whether a token's value satisfies the configured one: equal, or for arrays every configured item is
 * in the token's array; a single configured value may be one item of the token's array.
 */
export function claimMatches(expected: unknown, actual: unknown): boolean {
  if (actual === undefined) return false;
  const has = (list: unknown[], item: unknown) => list.some((a) => isDeepStrictEqual(a, item));
  if (Array.isArray(expected))
    return Array.isArray(actual)
      ? expected.every((e) => has(actual, e))
      : expected.length === 1 && isDeepStrictEqual(expected[0], actual);
  if (Array.isArray(actual)) return has(actual, expected);
  return isDeepStrictEqual(expected, actual);
}

/** A claim or header value as a flow variable: strings, numbers and booleans as they are, arrays comma-joined, objects as JSON. */
export function variableValue(value: unknown): unknown {
  if (Array.isArray(value))
    return value.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))).join(',');
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value;
}

const MAX_VARIABLE_MEMBERS = 64;

/** {prefix}.decoded.header.* and {prefix}.header-json (at most 64 members: a token's header is small). */
export function setHeaderVariables(variables: Variables, prefix: string, header: Record<string, unknown>): void {
  variables.set(`${prefix}.header-json`, JSON.stringify(header));
  for (const [name, value] of Object.entries(header).slice(0, MAX_VARIABLE_MEMBERS)) {
    variables.set(`${prefix}.decoded.header.${name}`, variableValue(value));
    variables.set(`${prefix}.header.${name}`, variableValue(value));
  }
  if (typeof header.alg === 'string') variables.set(`${prefix}.header.algorithm`, header.alg);
}

/** Seconds as hh:mm:ss.SSS (Apigee's time_remaining_formatted). */
function formatDuration(ms: number): string {
  const clamped = Math.max(0, ms);
  const pad = (n: number, w = 2) => String(Math.floor(n)).padStart(w, '0');
  return `${pad(clamped / 3_600_000)}:${pad((clamped / 60_000) % 60)}:${pad((clamped / 1000) % 60)}.${pad(clamped % 1000, 3)}`;
}

/** jwt.{policy}.decoded.claim.* and payload-json: what the token says, before anything is verified. */
export function setDecodedClaimVariables(variables: Variables, prefix: string, claims: Record<string, unknown>): void {
  variables.set(`${prefix}.payload-json`, JSON.stringify(claims));
  for (const name of Object.keys(claims).slice(0, MAX_VARIABLE_MEMBERS))
    variables.set(`${prefix}.decoded.claim.${name}`, variableValue(claims[name]));
}

/** jwt.{policy}.claim.* and the expiry variables: set by VerifyJWT once the signature verified, and by DecodeJWT. */
export function setClaimVariables(
  variables: Variables,
  prefix: string,
  claims: Record<string, unknown>,
  nowMs: number,
): void {
  const names = Object.keys(claims);
  variables.set(`${prefix}.claim.names`, names.join(','));
  for (const name of names.slice(0, MAX_VARIABLE_MEMBERS))
    variables.set(`${prefix}.claim.${name}`, variableValue(claims[name]));
  const standard: Array<[string, string]> = [
    ['iss', 'issuer'],
    ['sub', 'subject'],
    ['aud', 'audience'],
    ['exp', 'expiry'],
    ['iat', 'issuedat'],
    ['nbf', 'notbefore'],
    ['jti', 'id'],
  ];
  for (const [claim, name] of standard)
    if (claims[claim] !== undefined) variables.set(`${prefix}.claim.${name}`, variableValue(claims[claim]));
  const exp = claims.exp;
  if (typeof exp === 'number') {
    const remaining = exp * 1000 - nowMs;
    variables.set(`${prefix}.expiry_formatted`, new Date(exp * 1000).toISOString().replace('Z', '+0000'));
    variables.set(`${prefix}.seconds_remaining`, Math.max(0, Math.floor(remaining / 1000)));
    variables.set(`${prefix}.time_remaining_formatted`, formatDuration(remaining));
    variables.set(`${prefix}.is_expired`, remaining <= 0);
  }
}
