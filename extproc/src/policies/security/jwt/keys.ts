// Keys for the JWT and JWS policies, read on every request (a rotated Secret applies without a new
// snapshot) and parsed once per distinct value: PEM public keys and certificates, inline JWKS, HMAC
// secrets in Apigee's encodings, PEM private keys with an optional password. Key text is never logged
// or put in a fault string.
import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { createLocalJWKSet } from 'jose';
import type { SecretEncoding } from '../../../../../protos/policies/security/jwt-common.ts';
import { secretRefOf, type RefOr, type RefOrSecret } from '../../../../../protos/policies/schema.ts';
import type { PolicyContext, PolicyMeta } from '../../../flow/types.ts';

/** A key value's text: a Secret key, a variable or a literal; undefined when it is unset. */
export function readKeyText(
  ctx: PolicyContext,
  meta: PolicyMeta,
  value: RefOrSecret<string> | undefined,
): string | undefined {
  if (value === undefined) return undefined;
  const secret = secretRefOf(value);
  if (secret) return ctx.runtime.policySecret(meta.namespace, secret);
  const resolved = ctx.variables.resolve(value as RefOr<string>);
  return resolved === undefined || resolved === null ? undefined : String(resolved);
}

/** Remembers the last few parsed values by their text (a policy's key rarely changes). */
export function memo<T>(parse: (text: string) => T, size = 4): (text: string) => T {
  const cache = new Map<string, T>();
  return (text) => {
    const hit = cache.get(text);
    if (hit !== undefined) return hit;
    const value = parse(text);
    if (cache.size >= size) cache.delete(cache.keys().next().value!);
    cache.set(text, value);
    return value;
  };
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** HMAC key bytes from the configured text (Apigee's SecretKey encoding); throws when it does not decode. */
export function secretKeyBytes(text: string, encoding: SecretEncoding = 'utf8'): KeyObject {
  let bytes: Buffer;
  switch (encoding) {
    case 'utf8':
      bytes = Buffer.from(text, 'utf8');
      break;
    case 'hex':
    case 'base16':
      if (!HEX.test(text)) throw new Error(`the secret key is not ${encoding}`);
      bytes = Buffer.from(text, 'hex');
      break;
    case 'base64':
      if (!BASE64.test(text) || text.length % 4 !== 0) throw new Error('the secret key is not base64');
      bytes = Buffer.from(text, 'base64');
      break;
    case 'base64url':
      if (!BASE64URL.test(text)) throw new Error('the secret key is not base64url');
      bytes = Buffer.from(text, 'base64url');
      break;
  }
  if (bytes.length === 0) throw new Error('the secret key is empty');
  return createSecretKey(bytes);
}

/**
 * The shortest HMAC key each algorithm accepts, in bytes: the hash's output size (RFC 7518 3.2), the
 * rule Apigee enforces as InsufficientKeyLength (HS256 32, HS384 48, HS512 64).
 */
const HMAC_MIN_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

/** Why an HMAC key is too short for `alg` (the policies answer InsufficientKeyLength), or undefined. */
export function hmacKeyTooShort(key: KeyObject, alg: string): string | undefined {
  const min = HMAC_MIN_BYTES[alg];
  return min !== undefined && (key.symmetricKeySize ?? 0) < min
    ? `${alg} needs a secret key of at least ${min} bytes`
    : undefined;
}

/** jose's refusal of an RSA key under 2048 bits (RFC 7518 3.3, 3.5). */
export const isShortRsaKeyError = (err: unknown): boolean =>
  err instanceof TypeError && /modulusLength to be 2048 bits or larger/.test(err.message);

/** A public key from SPKI or PKCS#1 PEM, or the key of an X.509 certificate PEM. */
export const publicKeyFromPem = memo((text: string): KeyObject => createPublicKey(text));

/** A private key from PEM (PKCS#8, PKCS#1, SEC1), decrypted with the password when there is one. */
export function privateKeyFromPem(text: string, password: string | undefined): KeyObject {
  return createPrivateKey(password === undefined ? text : { key: text, passphrase: password });
}

export type KeySelector = ReturnType<typeof createLocalJWKSet>;

const selectors = new WeakMap<object, KeySelector>();

/**
 * jose's key selector over a key set (by kid, alg and kty), one per fetched or parsed set so that
 * each key is imported once, not per request.
 */
export function selectorFor(jwks: { keys: Array<Record<string, unknown>> }): KeySelector {
  let selector = selectors.get(jwks);
  if (!selector) {
    selector = createLocalJWKSet(jwks);
    selectors.set(jwks, selector);
  }
  return selector;
}

/** An inline JWKS document; throws when it is not `{keys: [...]}`. */
export const inlineJwks = memo((text: string): { keys: Array<Record<string, unknown>> } => {
  const parsed = JSON.parse(text) as unknown;
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray((parsed as { keys?: unknown }).keys))
    throw new Error('a JWKS is {"keys": [...]}');
  return parsed as { keys: Array<Record<string, unknown>> };
});

const privateKeys = memo((spec: string) => {
  const [hasPassword, password, pem] = JSON.parse(spec) as [boolean, string, string];
  return privateKeyFromPem(pem, hasPassword ? password : undefined);
}, 8);

/** privateKeyFromPem, parsed once per distinct key and password (signing and decrypting keys alike). */
export function cachedPrivateKey(pem: string, password: string | undefined): KeyObject {
  return privateKeys(JSON.stringify([password !== undefined, password ?? '', pem]));
}

const secretKeys = memo((spec: string) => {
  const [encoding, text] = JSON.parse(spec) as [SecretEncoding, string];
  return secretKeyBytes(text, encoding);
}, 8);

/** secretKeyBytes, decoded once per distinct text and encoding (HMAC and key-wrapping keys alike). */
export function cachedSecretKey(text: string, encoding: SecretEncoding | undefined): KeyObject {
  return secretKeys(JSON.stringify([encoding ?? 'utf8', text]));
}
