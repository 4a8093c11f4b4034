// TLS policy: protocol version bounds and cipher suites, as the DataPlane CRD, Envoy's tls_params and
// our own --tls-* flags state them, turned into Node's secure-context options. Cipher suites follow
// Envoy: they restrict TLS 1.2 and below; TLS 1.3 keeps its standard suites (BoringSSL has no knob for
// them, and Node would otherwise switch TLS 1.3 off when the list names no TLS 1.3 suite).
import { getCiphers, type SecureContextOptions } from 'node:tls';
import { TlsPolicyError } from './errors.ts';
import type { TlsMaterial } from './material.ts';

/** Node's names of the protocol versions. */
export type TlsVersionName = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface TlsPolicy {
  minVersion: TlsVersionName;
  maxVersion: TlsVersionName;
  /** OpenSSL/BoringSSL names, e.g. ECDHE-ECDSA-AES128-GCM-SHA256; empty: the defaults. */
  cipherSuites: readonly string[];
}

export const defaultTlsPolicy: TlsPolicy = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', cipherSuites: [] };

const order: readonly TlsVersionName[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const tls13Suites = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'];

/**
 * A version from any of the spellings in use: the CRD's "TLSv1.2", Envoy's "TLSv1_2", Node's
 * "TLSv1" for 1.0, or a bare "1.2".
 */
export function parseTlsVersion(value: string, what: string): TlsVersionName {
  const m = /^(?:TLSv?)?1[._]?([0-3])$/i.exec(value.trim());
  if (!m) throw new TlsPolicyError(`${what}: "${value}" is not a TLS version (TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)`);
  return order[Number(m[1])]!;
}

/** Envoy's cipher list syntax allows equal-preference groups "[A|B]"; OpenSSL wants them flat. */
function flattenSuites(suites: readonly string[]): string[] {
  return suites
    .flatMap((s) => s.replace(/^\[|\]$/g, '').split('|'))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Checks bounds and suite names; throws TlsPolicyError naming the bad part. */
export function tlsPolicy(
  input: { minVersion?: string; maxVersion?: string; cipherSuites?: readonly string[] },
  what = 'tls',
): TlsPolicy {
  const minVersion =
    input.minVersion === undefined
      ? defaultTlsPolicy.minVersion
      : parseTlsVersion(input.minVersion, `${what} minimum version`);
  const maxVersion =
    input.maxVersion === undefined
      ? defaultTlsPolicy.maxVersion
      : parseTlsVersion(input.maxVersion, `${what} maximum version`);
  if (order.indexOf(minVersion) > order.indexOf(maxVersion))
    throw new TlsPolicyError(`${what}: minimum version ${minVersion} is above maximum version ${maxVersion}`);
  const cipherSuites = flattenSuites(input.cipherSuites ?? []);
  const known = new Set(getCiphers().map((c) => c.toLowerCase()));
  const unknown = cipherSuites.filter((s) => !known.has(s.toLowerCase()));
  if (unknown.length > 0) throw new TlsPolicyError(`${what}: unknown cipher suite ${unknown.join(', ')}`);
  return { minVersion, maxVersion, cipherSuites };
}

/** Node's `ciphers` string for a policy, or undefined for Node's defaults. */
export function cipherString(policy: TlsPolicy): string | undefined {
  if (policy.cipherSuites.length === 0) return undefined;
  const named13 = policy.cipherSuites.some((s) => s.startsWith('TLS_'));
  return [...(named13 ? [] : tls13Suites), ...policy.cipherSuites].join(':');
}

/** Secure-context options: the material (certificate, key, CA) under the policy. */
export function secureContextOptions(material: TlsMaterial | undefined, policy: TlsPolicy): SecureContextOptions {
  const ciphers = cipherString(policy);
  return {
    ...(material?.cert ? { cert: material.cert, key: material.key } : {}),
    ...(material?.ca ? { ca: material.ca } : {}),
    minVersion: policy.minVersion,
    maxVersion: policy.maxVersion,
    ...(ciphers ? { ciphers } : {}),
  };
}
