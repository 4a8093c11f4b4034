// Signing shared by GenerateJWT and GenerateJWS, through jose's CompactSign: the key comes from a
// Secret (or a variable), is parsed once per distinct value, and a key that does not fit the
// algorithm fails with SigningFailed rather than producing a token another party would refuse.
import { CompactSign, type JWSHeaderParameters } from 'jose';
import type { KeyObject } from 'node:crypto';
import type {
  ClaimConfig,
  PrivateKeyConfig,
  SecretKeyConfig,
} from '../../../../../protos/policies/security/jwt-common.ts';
import type { PolicyContext, PolicyMeta } from '../../../flow/types.ts';
import { claimValue } from './claims.ts';
import type { JoseFaults } from './faults.ts';
import { hmacKeyTooShort, isShortRsaKeyError, cachedPrivateKey, cachedSecretKey, readKeyText } from './keys.ts';
import { quoted } from './verify.ts';

export interface SigningConfig {
  algorithm: string;
  privateKey?: PrivateKeyConfig;
  secretKey?: SecretKeyConfig;
  additionalHeaders?: ClaimConfig[];
  criticalHeaders?: string[];
  ignoreUnresolvedVariables?: boolean;
}

function signingKey(
  ctx: PolicyContext,
  meta: PolicyMeta,
  config: SigningConfig,
  faults: JoseFaults,
): { key: KeyObject; kid?: string } {
  if (config.secretKey) {
    const text = readKeyText(ctx, meta, config.secretKey.value);
    if (text === undefined) throw faults.fault('FailedToResolveVariable', 'Failed to resolve the secret key');
    let key: KeyObject;
    try {
      key = cachedSecretKey(text, config.secretKey.encoding);
    } catch (err) {
      throw faults.fault('InvalidSecretKey', `Invalid secret key: ${(err as Error).message}`);
    }
    const tooShort = hmacKeyTooShort(key, config.algorithm);
    if (tooShort !== undefined) throw faults.fault('InsufficientKeyLength', tooShort);
    return config.secretKey.id === undefined ? { key } : { key, kid: config.secretKey.id };
  }
  const pk = config.privateKey!;
  const pem = readKeyText(ctx, meta, pk.value);
  if (pem === undefined) throw faults.fault('FailedToResolveVariable', 'Failed to resolve the private key');
  const password = readKeyText(ctx, meta, pk.password);
  if (pk.password !== undefined && password === undefined)
    throw faults.fault('FailedToResolveVariable', 'Failed to resolve the private key password');
  try {
    const key = cachedPrivateKey(pem, password);
    return pk.id === undefined ? { key } : { key, kid: pk.id };
  } catch {
    throw faults.fault('InvalidPrivateKey', 'Invalid private key (or wrong password)');
  }
}

/** alg, typ, kid, the additional headers and crit; throws FailedToResolveVariable for an unset ref. */
export function protectedHeader(
  ctx: PolicyContext,
  config: SigningConfig,
  faults: JoseFaults,
  base: JWSHeaderParameters,
  kid: string | undefined,
): JWSHeaderParameters {
  const header: JWSHeaderParameters = { ...base, alg: config.algorithm };
  if (kid !== undefined) header.kid = kid;
  for (const h of config.additionalHeaders ?? []) {
    let value: unknown;
    try {
      value = claimValue(ctx.variables, h);
    } catch {
      throw faults.fault('FailedToResolveVariable', `The variable of header ${quoted(h.name)} does not hold JSON`);
    }
    if (value === undefined) {
      if (config.ignoreUnresolvedVariables) continue;
      throw faults.fault('FailedToResolveVariable', `Failed to resolve the variable of header ${quoted(h.name)}`);
    }
    if (h.name === 'alg' || h.name === 'crit' || h.name === 'b64') continue; // the policy's own
    header[h.name] = value;
  }
  if (config.criticalHeaders && config.criticalHeaders.length > 0) header.crit = [...config.criticalHeaders];
  return header;
}

/** The compact JWS of `payload` (bytes) under the configured key. */
export async function signCompact(
  ctx: PolicyContext,
  meta: PolicyMeta,
  config: SigningConfig,
  faults: JoseFaults,
  payload: Uint8Array,
  base: JWSHeaderParameters,
): Promise<string> {
  const { key, kid } = signingKey(ctx, meta, config, faults);
  const header = protectedHeader(ctx, config, faults, base, kid);
  try {
    // jose refuses to sign a crit it does not know of unless told the names are understood.
    const crit = Object.fromEntries((config.criticalHeaders ?? []).map((name) => [name, true]));
    return await new CompactSign(payload).setProtectedHeader({ ...header, alg: config.algorithm }).sign(key, { crit });
  } catch (err) {
    if (isShortRsaKeyError(err)) throw faults.fault('InsufficientKeyLength', 'RSA keys must be at least 2048 bits');
    throw faults.fault('SigningFailed', `Signing failed: ${(err as Error).message}`);
  }
}
