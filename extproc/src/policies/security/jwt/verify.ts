// Signature verification shared by VerifyJWT and VerifyJWS, through jose: the header's alg must be in
// the policy's allow-list (so `none`, and HS* where a public key is configured, never verify), every
// crit name must be one the policy knows, and the key comes only from the policy's configuration
// (jku, x5u, jwk and x5c headers are never read, let alone fetched; kid only selects within the
// configured key set). A kid the cached JWKS lacks asks the key service for one bounded refetch.
import { errors, flattenedVerify, type FlattenedJWSInput } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { PublicKeyConfig, SecretKeyConfig } from '../../../../../protos/policies/security/jwt-common.ts';
import { PolicyFault } from '../../../flow/faults.ts';
import type { PolicyContext, PolicyMeta, RemoteKeySource } from '../../../flow/types.ts';
import type { JoseFaults } from './faults.ts';
import {
  hmacKeyTooShort,
  isShortRsaKeyError,
  inlineJwks,
  publicKeyFromPem,
  readKeyText,
  secretKeyBytes,
  selectorFor,
  memo,
  type KeySelector,
} from './keys.ts';
import type { CompactParts } from './token.ts';

export interface SignatureConfig {
  algorithms: readonly string[];
  publicKey?: PublicKeyConfig;
  secretKey?: SecretKeyConfig;
  knownHeaders?: readonly string[];
  ignoreCriticalHeaders?: boolean;
}

/** Text from a token for a fault string: bounded, printable. */
export function quoted(value: unknown): string {
  return JSON.stringify(String(value).slice(0, 64));
}

type Key = KeyObject | KeySelector;

interface ResolvedKey {
  key: Key;
  /** Present for a remote set: asks once more for a kid the set lacks. */
  refetch?: (kid: string) => Promise<Key | undefined>;
}

const secretKeyFrom = memo((spec: string) => {
  const sep = spec.indexOf('\0');
  return secretKeyBytes(spec.slice(sep + 1), spec.slice(0, sep) as SecretKeyConfig['encoding']);
});

async function resolveKey(
  ctx: PolicyContext,
  meta: PolicyMeta,
  config: SignatureConfig,
  faults: JoseFaults,
  alg: string,
): Promise<ResolvedKey> {
  if (config.secretKey) {
    const text = readKeyText(ctx, meta, config.secretKey.value);
    if (text === undefined) throw faults.fault('FailedToResolveVariable', 'Failed to resolve the secret key');
    let key: KeyObject;
    try {
      key = secretKeyFrom(`${config.secretKey.encoding ?? 'utf8'}\0${text}`);
    } catch (err) {
      throw faults.fault('InvalidSecretKey', `Invalid secret key: ${(err as Error).message}`);
    }
    const tooShort = hmacKeyTooShort(key, alg);
    if (tooShort !== undefined) throw faults.fault('InsufficientKeyLength', tooShort);
    return { key };
  }
  const pk = config.publicKey!;
  if (pk.jwksUri !== undefined || pk.discoveryUri !== undefined) {
    const source: RemoteKeySource =
      pk.jwksUri !== undefined ? { jwksUri: pk.jwksUri } : { discoveryUri: pk.discoveryUri! };
    const unavailable = () => faults.fault('UnknownException', 'Failed to fetch the JWKS');
    const first = await ctx.keys.jwks(source).catch(() => {
      throw unavailable();
    });
    return {
      key: selectorFor(first),
      refetch: async (kid) => {
        const again = await ctx.keys.jwks(source, kid).catch(() => undefined);
        return again === undefined || again === first ? undefined : selectorFor(again);
      },
    };
  }
  const text = readKeyText(ctx, meta, pk.value ?? pk.certificate ?? pk.jwks);
  if (text === undefined) throw faults.fault('FailedToResolveVariable', 'Failed to resolve the public key');
  try {
    return { key: pk.jwks !== undefined ? selectorFor(inlineJwks(text)) : publicKeyFromPem(text) };
  } catch {
    throw faults.fault('InvalidPublicKey', 'Invalid public key');
  }
}

/** The crit names of a header; throws when crit is present but not a non-empty array of strings. */
function critNames(header: Record<string, unknown>, faults: JoseFaults): string[] {
  const crit = header.crit;
  if (crit === undefined) return [];
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every((n) => typeof n === 'string'))
    throw faults.undecodable('The crit header must be a non-empty array of names');
  return crit;
}

function mapJoseError(err: unknown, config: SignatureConfig, faults: JoseFaults): Error {
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return faults.fault('NoMatchingPublicKey', 'No public key matches the kid and alg of the token');
  if (err instanceof errors.JWSSignatureVerificationFailed) return faults.badSignature('Signature verification failed');
  if (err instanceof errors.JOSEAlgNotAllowed)
    return faults.fault('AlgorithmInTokenNotPresentInConfiguration', 'The algorithm of the token is not configured');
  if (err instanceof errors.JWSInvalid) return faults.undecodable(err.message);
  if (isShortRsaKeyError(err)) return faults.fault('InsufficientKeyLength', 'RSA keys must be at least 2048 bits');
  if (err instanceof TypeError || err instanceof errors.JOSENotSupported || err instanceof errors.JWKInvalid)
    return config.secretKey
      ? faults.fault('InvalidSecretKey', 'The secret key cannot be used with the algorithm of the token')
      : faults.fault('InvalidPublicKey', 'The public key cannot be used with the algorithm of the token');
  return faults.fault('UnknownException', 'Verification failed');
}

/**
 * Verifies a compact token's signature (`detached`: the content of a detached JWS, whose middle part
 * the caller has checked is empty) and returns its
 * payload bytes; throws the family's fault.
 */
export async function verifySignature(
  ctx: PolicyContext,
  meta: PolicyMeta,
  config: SignatureConfig,
  faults: JoseFaults,
  parts: CompactParts,
  detached?: string,
): Promise<Uint8Array> {
  const alg = parts.header.alg;
  if (typeof alg !== 'string' || alg === '')
    throw faults.fault('NoAlgorithmFoundInHeader', 'No algorithm found in the header');
  if (!config.algorithms.includes(alg))
    throw faults.fault(
      'AlgorithmInTokenNotPresentInConfiguration',
      `The algorithm in the header (${quoted(alg)}) is not one of the configured algorithms`,
    );
  const crit = critNames(parts.header, faults);
  const known = new Set(config.knownHeaders ?? []);
  const unknown = crit.filter((name) => name !== 'b64' && !known.has(name));
  if (unknown.length > 0 && config.ignoreCriticalHeaders !== true)
    throw faults.fault('UnhandledCriticalHeader', `Unhandled critical header ${quoted(unknown[0])}`);
  const critOption = Object.fromEntries(crit.filter((n) => n !== 'b64').map((n) => [n, true]));
  const b64 = parts.header.b64 !== false;
  let payload: string = parts.payloadB64;
  if (detached !== undefined) {
    payload = b64 ? Buffer.from(detached, 'utf8').toString('base64url') : detached;
  }
  const jws: FlattenedJWSInput = { protected: parts.headerB64, payload, signature: parts.signatureB64 };
  const options = { algorithms: [...config.algorithms], crit: critOption };
  const resolved = await resolveKey(ctx, meta, config, faults, alg);
  try {
    return (await flattenedVerify(jws, resolved.key as KeyObject, options)).payload;
  } catch (err) {
    const kid = parts.header.kid;
    if (err instanceof errors.JWKSNoMatchingKey && resolved.refetch && typeof kid === 'string') {
      const fresh = await resolved.refetch(kid);
      if (fresh) {
        try {
          return (await flattenedVerify(jws, fresh as KeyObject, options)).payload;
        } catch (again) {
          throw mapJoseError(again, config, faults);
        }
      }
    }
    throw mapJoseError(err, config, faults);
  }
}

/**
 * The step of VerifyJWT and VerifyJWS: runs `verify` with Apigee's outcome variables around it,
 * `{prefix}.valid` false until it succeeds, and `{prefix}.error` / `{prefix}.failed` on a fault.
 */
export function verificationStep(
  prefix: string,
  verify: (ctx: PolicyContext) => Promise<void>,
): (ctx: PolicyContext) => Promise<undefined> {
  return async (ctx) => {
    ctx.variables.set(`${prefix}.valid`, false);
    try {
      await verify(ctx);
    } catch (err) {
      if (err instanceof PolicyFault) {
        ctx.variables.set(`${prefix}.error`, err.message);
        ctx.variables.set(`${prefix}.failed`, true);
      }
      throw err;
    }
    ctx.variables.set(`${prefix}.valid`, true);
    ctx.variables.set(`${prefix}.failed`, false);
    return undefined;
  };
}
