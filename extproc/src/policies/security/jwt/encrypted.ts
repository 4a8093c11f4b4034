// Encrypted JWTs (JWE compact serialization, RFC 7516) for VerifyJWT and GenerateJWT type Encrypted
// (docs/policies.md#encrypted-jwts), through jose's compactDecrypt and CompactEncrypt. The key and
// content algorithms are explicit allow-lists from the config, checked on the protected header before
// any key is touched: `dir`, RSA1_5, ECDH-ES* and PBES2* are never values, so a token naming one is
// refused whatever its content. Compressed payloads (zip) are refused (no decompression bombs).
import { CompactEncrypt, compactDecrypt, errors } from 'jose';
import type { KeyObject } from 'node:crypto';
import {
  KEY_WRAP_BYTES,
  type JweContentAlgorithm,
  type JweKeyAlgorithm,
  type PrivateKeyConfig,
  type PublicKeyConfig,
  type SecretKeyConfig,
} from '../../../../../protos/policies/security/jwt-common.ts';
import type { PolicyContext, PolicyMeta } from '../../../flow/types.ts';
import { jwtFault, type JoseFaults } from './faults.ts';
import { cachedPrivateKey, cachedSecretKey, publicKeyFromPem, readKeyText } from './keys.ts';
import { decodeJsonObject, MAX_TOKEN_LENGTH, TokenDecodeError } from './token.ts';
import { quoted } from './verify.ts';

export interface DecryptConfig {
  encryptionAlgorithms: { key: readonly JweKeyAlgorithm[]; content: readonly JweContentAlgorithm[] };
  privateKey?: PrivateKeyConfig | undefined;
  secretKey?: SecretKeyConfig | undefined;
}

function wrapKey(
  ctx: PolicyContext,
  meta: PolicyMeta,
  key: SecretKeyConfig,
  alg: string,
  faults: JoseFaults,
): KeyObject {
  const text = readKeyText(ctx, meta, key.value);
  if (text === undefined) throw faults.fault('FailedToResolveVariable', 'Failed to resolve the secret key');
  let secret: KeyObject;
  try {
    secret = cachedSecretKey(text, key.encoding);
  } catch (err) {
    throw faults.fault('InvalidSecretKey', `Invalid secret key: ${(err as Error).message}`);
  }
  const size = KEY_WRAP_BYTES[alg];
  if (size !== undefined && secret.symmetricKeySize !== size)
    throw faults.fault('InvalidSecretKey', `${alg} needs a secret key of exactly ${size} bytes`);
  return secret;
}

/** The protected header of a compact JWE (five parts), decoded and bounded; throws TokenDecodeError. */
export function jweHeader(token: string): Record<string, unknown> {
  if (token.length > MAX_TOKEN_LENGTH)
    throw new TokenDecodeError('too-large', `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  const parts = token.split('.');
  if (parts.length !== 5) throw new TokenDecodeError('malformed', 'an encrypted JWT has five parts');
  return decodeJsonObject(parts[0]!, 'the header');
}

/** Decrypts a compact JWE to its claims; throws the family's faults. */
export async function decryptClaims(
  ctx: PolicyContext,
  meta: PolicyMeta,
  config: DecryptConfig,
  faults: JoseFaults,
  token: string,
  header: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { alg, enc } = header;
  if (typeof alg !== 'string' || alg === '' || typeof enc !== 'string' || enc === '')
    throw faults.fault('NoAlgorithmFoundInHeader', 'An encrypted JWT needs alg and enc headers');
  if (!(config.encryptionAlgorithms.key as readonly string[]).includes(alg))
    throw faults.fault(
      'AlgorithmInTokenNotPresentInConfiguration',
      `The key algorithm in the header (${quoted(alg)}) is not one of the configured ones`,
    );
  if (!(config.encryptionAlgorithms.content as readonly string[]).includes(enc))
    throw faults.fault(
      'AlgorithmInTokenNotPresentInConfiguration',
      `The content algorithm in the header (${quoted(enc)}) is not one of the configured ones`,
    );
  if (header.zip !== undefined) throw faults.undecodable('Compressed encrypted JWTs (zip) are not accepted');
  if (header.crit !== undefined) throw faults.fault('UnhandledCriticalHeader', 'Unhandled critical header');
  let key: KeyObject;
  if (alg === 'RSA-OAEP-256') {
    const pk = config.privateKey!;
    const pem = readKeyText(ctx, meta, pk.value);
    if (pem === undefined) throw faults.fault('FailedToResolveVariable', 'Failed to resolve the private key');
    const password = readKeyText(ctx, meta, pk.password);
    try {
      key = cachedPrivateKey(pem, password);
    } catch {
      throw faults.fault('InvalidPrivateKey', 'Invalid private key (or wrong password)');
    }
  } else {
    key = wrapKey(ctx, meta, config.secretKey!, alg, faults);
  }
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(token, key, {
      keyManagementAlgorithms: [...config.encryptionAlgorithms.key],
      contentEncryptionAlgorithms: [...config.encryptionAlgorithms.content],
    }));
  } catch (err) {
    if (err instanceof errors.JWEInvalid) throw faults.undecodable(err.message);
    if (err instanceof TypeError && /modulusLength/.test(err.message))
      throw faults.fault('InsufficientKeyLength', 'RSA keys must be at least 2048 bits');
    // Wrong key, tampered ciphertext, tag or encrypted key: one answer, no oracle.
    throw faults.badSignature('The encrypted JWT does not decrypt');
  }
  try {
    return decodeJsonObject(Buffer.from(plaintext).toString('base64url'), 'the payload');
  } catch (err) {
    if (err instanceof TokenDecodeError) throw faults.undecodable(err.message);
    throw err;
  }
}

export interface EncryptConfig {
  encryptionAlgorithms: { key: JweKeyAlgorithm; content: JweContentAlgorithm };
  publicKey?: PublicKeyConfig | undefined;
  secretKey?: SecretKeyConfig | undefined;
}

/** The compact JWE of the claims, encrypted to the configured key; `header` adds typ, kid and the like. */
export async function encryptClaims(
  ctx: PolicyContext,
  meta: PolicyMeta,
  config: EncryptConfig,
  faults: JoseFaults,
  claims: Record<string, unknown>,
  header: Record<string, unknown>,
): Promise<string> {
  const { key: alg, content: enc } = config.encryptionAlgorithms;
  let key: KeyObject;
  if (alg === 'RSA-OAEP-256') {
    const pk = config.publicKey!;
    const pem = readKeyText(ctx, meta, pk.value ?? pk.certificate);
    if (pem === undefined) throw faults.fault('FailedToResolveVariable', 'Failed to resolve the public key');
    try {
      key = publicKeyFromPem(pem);
    } catch {
      throw faults.fault('InvalidPublicKey', 'Invalid public key');
    }
  } else {
    key = wrapKey(ctx, meta, config.secretKey!, alg, faults);
  }
  try {
    return await new CompactEncrypt(Buffer.from(JSON.stringify(claims), 'utf8'))
      .setProtectedHeader({ ...header, alg, enc })
      .encrypt(key);
  } catch (err) {
    if (err instanceof TypeError && /modulusLength/.test(err.message))
      throw faults.fault('InsufficientKeyLength', 'RSA keys must be at least 2048 bits');
    throw jwtFault('EncryptionFailed', 500, `Encryption failed: ${(err as Error).message}`);
  }
}
