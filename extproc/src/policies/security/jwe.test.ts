// Encrypted JWTs (VerifyJWT / GenerateJWT type Encrypted): round trips for RSA-OAEP-256 and AES key
// wrap, an independent decryption with jose, and the attack corpus: `dir` and RSA1_5 tokens, a content
// algorithm not allowed, a tampered ciphertext, a compressed (zip) payload, an expired token, a signed
// JWT where an encrypted one is expected, the wrong key, a wrong-size key wrap secret.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateJWT, type GenerateJwtConfig } from '../../../../protos/policies/security/generate-jwt.ts';
import { verifyJWT, type VerifyJwtConfig } from '../../../../protos/policies/security/verify-jwt.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import type { PolicyStep } from '../../flow/types.ts';
import { generateJwtPolicy } from './generate-jwt.ts';
import { verifyJwtPolicy } from './verify-jwt.ts';

const meta = { namespace: 'default', name: 'jwe' };
const NOW = Date.UTC(2026, 0, 1);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: KeyObject, type: 'spki' | 'pkcs8') => k.export({ type, format: 'pem' }).toString();
const WRAP = randomBytes(32);
const variables = {
  'k.pub': pem(rsa.publicKey, 'spki'),
  'k.priv': pem(rsa.privateKey, 'pkcs8'),
  'k.other': pem(other.privateKey, 'pkcs8'),
  'k.wrap': WRAP.toString('base64url'),
};
const ctxWith = (extra: Record<string, unknown> = {}) =>
  makePolicyContext({ now: NOW, variables: { ...variables, ...extra } });

async function outcome(step: PolicyStep, ctx: ReturnType<typeof ctxWith>): Promise<PolicyFault | undefined> {
  try {
    await step(ctx);
    return undefined;
  } catch (err) {
    if (err instanceof PolicyFault) return err;
    throw err;
  }
}

const RSA_GEN: GenerateJwtConfig = {
  type: 'Encrypted',
  encryptionAlgorithms: { key: 'RSA-OAEP-256', content: 'A256GCM' },
  publicKey: { value: { ref: 'k.pub' } },
  issuer: 'https://gatehouse.test',
  subject: 'alice',
  expiresIn: '10m',
  additionalHeaders: [{ name: 'moniker', value: 'Harvey' }],
  outputVariable: 'out',
};
const RSA_VERIFY: VerifyJwtConfig = {
  type: 'Encrypted',
  encryptionAlgorithms: { key: ['RSA-OAEP-256'], content: ['A256GCM'] },
  privateKey: { value: { ref: 'k.priv' } },
  source: 'token',
  issuer: 'https://gatehouse.test',
};
const KW_VERIFY: VerifyJwtConfig = {
  type: 'Encrypted',
  encryptionAlgorithms: { key: ['A256KW'], content: ['A128CBC-HS256', 'A256GCM'] },
  secretKey: { value: { ref: 'k.wrap' }, encoding: 'base64url' },
  source: 'token',
};

async function generate(config: GenerateJwtConfig): Promise<string> {
  const ctx = ctxWith();
  const fault = await outcome(generateJwtPolicy.create(config, meta), ctx);
  if (fault) throw fault;
  return ctx.variables.getString('out')!;
}

const encryptRaw = (header: Record<string, unknown>, claims: unknown, key: Uint8Array | KeyObject) =>
  new CompactEncrypt(Buffer.from(JSON.stringify(claims)))
    .setProtectedHeader(header as { alg: string; enc: string })
    .encrypt(key);

describe('GenerateJWT and VerifyJWT, type Encrypted', () => {
  it('RSA-OAEP-256 + A256GCM: five parts, decrypted by jose and by VerifyJWT, claims in the variables', async () => {
    const token = await generate(RSA_GEN);
    expect(token.split('.')).toHaveLength(5);
    const { plaintext, protectedHeader } = await compactDecrypt(token, rsa.privateKey);
    expect(protectedHeader).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM', typ: 'JWT', moniker: 'Harvey' });
    expect(JSON.parse(Buffer.from(plaintext).toString())).toMatchObject({ sub: 'alice', iat: NOW / 1000 });
    const ctx = ctxWith({ token });
    expect(await outcome(verifyJwtPolicy.create(RSA_VERIFY, meta), ctx)).toBeUndefined();
    expect(ctx.variables.get('jwt.jwe.claim.subject')).toBe('alice');
    expect(ctx.variables.get('jwt.jwe.header.moniker')).toBe('Harvey');
    expect(ctx.variables.get('jwt.jwe.valid')).toBe(true);
  });

  it('A256KW + A128CBC-HS256 with a 32-byte secret; a 16-byte secret is InvalidSecretKey', async () => {
    const token = await generate({
      ...RSA_GEN,
      encryptionAlgorithms: { key: 'A256KW', content: 'A128CBC-HS256' },
      publicKey: undefined,
      secretKey: { value: { ref: 'k.wrap' }, encoding: 'base64url', id: 'wrap-1' },
    });
    const ctx = ctxWith({ token });
    expect(await outcome(verifyJwtPolicy.create(KW_VERIFY, meta), ctx)).toBeUndefined();
    expect(ctx.variables.get('jwt.jwe.header.kid')).toBe('wrap-1');
    const short = ctxWith({ token, 'k.wrap': randomBytes(16).toString('base64url') });
    const fault = await outcome(verifyJwtPolicy.create(KW_VERIFY, meta), short);
    expect([fault?.errorCode, fault?.status]).toEqual(['steps.jwt.InvalidSecretKey', 401]);
  });
});

describe('encrypted JWTs: attacks', () => {
  const claims = { sub: 'mallory', exp: NOW / 1000 + 600 };

  it('alg dir (the configured secret used as the content key) is refused before any decryption', async () => {
    const token = await encryptRaw({ alg: 'dir', enc: 'A256GCM' }, claims, WRAP);
    const fault = await outcome(verifyJwtPolicy.create(KW_VERIFY, meta), ctxWith({ token }));
    expect([fault?.errorCode, fault?.status]).toEqual(['steps.jwt.AlgorithmInTokenNotPresentInConfiguration', 401]);
  });

  it('alg RSA1_5 (padding oracle) is refused before any decryption; so is an enc not allowed', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const rsa15 = `${b64({ alg: 'RSA1_5', enc: 'A256GCM' })}.${'A'.repeat(342)}.${'B'.repeat(16)}.${'C'.repeat(20)}.${'D'.repeat(22)}`;
    const f1 = await outcome(verifyJwtPolicy.create(RSA_VERIFY, meta), ctxWith({ token: rsa15 }));
    expect(f1?.errorCode).toBe('steps.jwt.AlgorithmInTokenNotPresentInConfiguration');
    const weakEnc = await encryptRaw({ alg: 'RSA-OAEP-256', enc: 'A128GCM' }, claims, rsa.publicKey);
    const f2 = await outcome(verifyJwtPolicy.create(RSA_VERIFY, meta), ctxWith({ token: weakEnc }));
    expect(f2?.errorCode).toBe('steps.jwt.AlgorithmInTokenNotPresentInConfiguration');
    expect(verifyJWT.schema.properties!.encryptionAlgorithms!.properties!.key!.items!.enum).not.toContain('dir');
    expect(verifyJWT.schema.properties!.encryptionAlgorithms!.properties!.key!.items!.enum).not.toContain('RSA1_5');
  });

  it('a tampered ciphertext, another recipient key: InvalidToken, one answer for both', async () => {
    const token = await generate(RSA_GEN);
    const parts = token.split('.');
    parts[3] = `${parts[3]!.startsWith('A') ? 'B' : 'A'}${parts[3]!.slice(1)}`;
    const tampered = await outcome(verifyJwtPolicy.create(RSA_VERIFY, meta), ctxWith({ token: parts.join('.') }));
    expect([tampered?.errorCode, tampered?.status]).toEqual(['steps.jwt.InvalidToken', 401]);
    const wrongKey = await outcome(
      verifyJwtPolicy.create({ ...RSA_VERIFY, privateKey: { value: { ref: 'k.other' } } }, meta),
      ctxWith({ token }),
    );
    expect(wrongKey?.errorCode).toBe('steps.jwt.InvalidToken');
  });

  it('a zip header, a signed JWT, garbage: FailedToDecode; an expired one: TokenExpired', async () => {
    const zipped = await encryptRaw({ alg: 'RSA-OAEP-256', enc: 'A256GCM', zip: 'DEF' }, claims, rsa.publicKey).catch(
      () => undefined,
    );
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const zipToken = zipped ?? `${b64({ alg: 'RSA-OAEP-256', enc: 'A256GCM', zip: 'DEF' })}.AA.AA.AA.AA`;
    for (const token of [zipToken, 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln', 'x.y.z.w.v', 'nonsense']) {
      const fault = await outcome(verifyJwtPolicy.create(RSA_VERIFY, meta), ctxWith({ token }));
      expect(fault?.errorCode, token.slice(0, 30)).toBe('steps.jwt.FailedToDecode');
    }
    const expired = await encryptRaw(
      { alg: 'RSA-OAEP-256', enc: 'A256GCM' },
      { sub: 'a', iss: 'https://gatehouse.test', exp: NOW / 1000 - 1 },
      rsa.publicKey,
    );
    expect((await outcome(verifyJwtPolicy.create(RSA_VERIFY, meta), ctxWith({ token: expired })))?.errorCode).toBe(
      'steps.jwt.TokenExpired',
    );
  });
});

describe('encrypted JWTs: compile checks', () => {
  it.each([
    [{ ...RSA_VERIFY, algorithms: ['RS256'] }, 'algorithms'],
    [
      { ...RSA_VERIFY, encryptionAlgorithms: { key: ['RSA-OAEP-256', 'A256KW'], content: ['A256GCM'] } },
      'encryptionAlgorithms.key',
    ],
    [{ ...RSA_VERIFY, privateKey: undefined }, 'privateKey'],
    [{ ...KW_VERIFY, secretKey: { value: 'literal' } }, 'secretKey.value'],
    [{ type: 'Encrypted', source: 'token' }, 'encryptionAlgorithms'],
    [
      {
        algorithms: ['RS256'],
        publicKey: { value: { ref: 'k' } },
        encryptionAlgorithms: { key: ['A256KW'], content: ['A256GCM'] },
      },
      'encryptionAlgorithms',
    ],
  ] as Array<[VerifyJwtConfig, string]>)('VerifyJWT %j is refused at %s', (config, path) => {
    expect(verifyJWT.validate!(config)).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  });
  it.each([
    [{ ...RSA_GEN, algorithm: 'RS256' }, 'algorithm'],
    [{ ...RSA_GEN, publicKey: { jwksUri: 'https://keys.example.com/jwks' } }, 'publicKey'],
    [{ ...RSA_GEN, criticalHeaders: ['moniker'] }, 'criticalHeaders'],
    [{ ...RSA_GEN, encryptionAlgorithms: { key: 'A128KW', content: 'A128GCM' } }, 'secretKey'],
  ] as Array<[GenerateJwtConfig, string]>)('GenerateJWT %j is refused at %s', (config, path) => {
    expect(generateJWT.validate!(config)).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  });
  it('sound configs have no problems', () => {
    expect(verifyJWT.validate!(RSA_VERIFY)).toEqual([]);
    expect(verifyJWT.validate!(KW_VERIFY)).toEqual([]);
    expect(generateJWT.validate!(RSA_GEN)).toEqual([]);
  });
});
