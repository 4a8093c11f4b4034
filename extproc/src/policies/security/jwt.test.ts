// The JWT policies against keys made here and tokens made by hand: round trips for every algorithm
// family, Apigee's variables and faults, and the attack corpus (alg none, HS/RS key confusion, kid
// tricks, jku/x5u/jwk headers, time claims, oversized and malformed tokens, unknown crit, duplicate
// members, another issuer or audience).
import { createServer, type Server } from 'node:http';
import { generateKeyPairSync, createHmac, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { CompactSign, exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifyJwtConfig } from '../../../../protos/policies/security/verify-jwt.ts';
import type { GenerateJwtConfig } from '../../../../protos/policies/security/generate-jwt.ts';
import { verifyJWT } from '../../../../protos/policies/security/verify-jwt.ts';
import { errorCodes } from '../../../../lib/error-codes.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { JsonWebKeySet, PolicyStep, RemoteKeySets, RemoteKeySource } from '../../flow/types.ts';
import { decodeJwtPolicy } from './decode-jwt.ts';
import { generateJwtPolicy } from './generate-jwt.ts';
import { jwsFaultCodes, jwtFaultCodes } from './jwt/faults.ts';
import { verifyJwtPolicy } from './verify-jwt.ts';

const meta = { namespace: 'default', name: 'jwt-check' };
const NOW = Date.UTC(2026, 0, 1);
const nowS = NOW / 1000;

const pem = (key: KeyObject, type: 'spki' | 'pkcs8') => key.export({ type, format: 'pem' }).toString();
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');
const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const HMAC_SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

const secrets: Record<string, string> = {
  'default/jwt/rsa.pub': pem(rsa.publicKey, 'spki'),
  'default/jwt/rsa.key': pem(rsa.privateKey, 'pkcs8'),
  'default/jwt/ec.pub': pem(ec.publicKey, 'spki'),
  'default/jwt/ec.key': pem(ec.privateKey, 'pkcs8'),
  'default/jwt/ec384.pub': pem(ec384.publicKey, 'spki'),
  'default/jwt/ec384.key': pem(ec384.privateKey, 'pkcs8'),
  'default/jwt/ed.pub': pem(ed.publicKey, 'spki'),
  'default/jwt/ed.key': pem(ed.privateKey, 'pkcs8'),
  'default/jwt/hmac': HMAC_SECRET,
};
const secret = (key: string) => ({ secretRef: { name: 'jwt', key } });

function context(opts: PolicyContextOptions = {}) {
  return makePolicyContext({ now: NOW, snapshot: { policySecrets: secrets }, ...opts });
}

async function outcome(step: PolicyStep, ctx: ReturnType<typeof context>): Promise<PolicyFault | undefined> {
  try {
    await step(ctx);
    return undefined;
  } catch (err) {
    if (err instanceof PolicyFault) return err;
    throw err;
  }
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

async function sign(header: Record<string, unknown>, claims: unknown, key: KeyObject | Uint8Array): Promise<string> {
  return new CompactSign(Buffer.from(typeof claims === 'string' ? claims : JSON.stringify(claims)))
    .setProtectedHeader(header as { alg: string })
    .sign(key, { crit: Object.fromEntries(((header.crit as string[] | undefined) ?? []).map((n) => [n, true])) });
}

/** An HS256 token over raw header and payload text (for duplicate members jose would not write). */
function hs256Raw(headerJson: string, payloadJson: string, secretText = HMAC_SECRET): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  return `${input}.${createHmac('sha256', secretText).update(input).digest('base64url')}`;
}

function verify(config: Partial<VerifyJwtConfig>): PolicyStep {
  return verifyJwtPolicy.create({ algorithms: ['ES256'], publicKey: { value: secret('ec.pub') }, ...config }, meta);
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const claims = { iss: 'https://issuer.test', sub: 'alice', aud: 'shop', iat: nowS - 10, exp: nowS + 3600 };

describe('GenerateJWT then VerifyJWT, every algorithm family', () => {
  const cases: Array<[NonNullable<GenerateJwtConfig['algorithm']>, string, string]> = [
    ['RS256', 'rsa.key', 'rsa.pub'],
    ['RS512', 'rsa.key', 'rsa.pub'],
    ['PS256', 'rsa.key', 'rsa.pub'],
    ['ES256', 'ec.key', 'ec.pub'],
    ['ES384', 'ec384.key', 'ec384.pub'],
    ['EdDSA', 'ed.key', 'ed.pub'],
  ];
  it.each(cases)('%s', async (algorithm, privateKey, publicKey) => {
    const ctx = context();
    const generate = generateJwtPolicy.create(
      {
        algorithm,
        privateKey: { value: secret(privateKey), id: 'key-1' },
        issuer: 'https://issuer.test',
        subject: 'alice',
        audience: 'shop,admin',
        expiresIn: '1h',
        id: { generate: true },
        additionalClaims: [
          { name: 'tier', value: 'gold' },
          { name: 'level', value: '3', type: 'number' },
          { name: 'roles', value: 'a,b', array: true },
        ],
        outputVariable: 'out.jwt',
      },
      meta,
    );
    expect(await outcome(generate, ctx)).toBeUndefined();
    const check = verifyJwtPolicy.create(
      {
        algorithms: [algorithm],
        publicKey: { value: secret(publicKey) },
        source: 'out.jwt',
        issuer: 'https://issuer.test',
        audience: 'admin',
        subject: 'alice',
        additionalClaims: [
          { name: 'level', value: '3', type: 'number' },
          { name: 'roles', value: 'b', array: true },
        ],
      },
      meta,
    );
    expect(await outcome(check, ctx)).toBeUndefined();
    expect(ctx.variables.get('jwt.jwt-check.valid')).toBe(true);
    expect(ctx.variables.get('jwt.jwt-check.failed')).toBe(false);
    expect(ctx.variables.get('jwt.jwt-check.claim.subject')).toBe('alice');
    expect(ctx.variables.get('jwt.jwt-check.claim.audience')).toBe('shop,admin');
    expect(ctx.variables.get('jwt.jwt-check.claim.tier')).toBe('gold');
    expect(ctx.variables.get('jwt.jwt-check.decoded.header.kid')).toBe('key-1');
    expect(ctx.variables.get('jwt.jwt-check.header.algorithm')).toBe(algorithm);
    expect(ctx.variables.get('jwt.jwt-check.seconds_remaining')).toBe(3600);
    expect(ctx.variables.get('jwt.jwt-check.time_remaining_formatted')).toBe('01:00:00.000');
    expect(ctx.variables.get('jwt.jwt-check.is_expired')).toBe(false);
    expect(ctx.variables.get('jwt.jwt-check.claim.names')).toContain('jti');
  });

  it('HS256 with a secret key from a Secret, in each of Apigee’s encodings', async () => {
    for (const [encoding, text] of [
      ['utf8', HMAC_SECRET],
      ['hex', Buffer.from(HMAC_SECRET).toString('hex')],
      ['base64', Buffer.from(HMAC_SECRET).toString('base64')],
      ['base64url', Buffer.from(HMAC_SECRET).toString('base64url')],
    ] as const) {
      const ctx = context({ variables: { 'private.key': text } });
      const key = { value: { ref: 'private.key' }, encoding };
      await generateJwtPolicy.create(
        { algorithm: 'HS256', secretKey: key, subject: 'bob', outputVariable: 'out.jwt' },
        meta,
      )(ctx);
      const token = ctx.variables.getString('out.jwt')!;
      // An independent HMAC over the signing input: the key bytes are the decoded text.
      const [h, p, s] = token.split('.');
      expect(createHmac('sha256', HMAC_SECRET).update(`${h}.${p}`).digest('base64url')).toBe(s);
      const check = verifyJwtPolicy.create({ algorithms: ['HS256'], secretKey: key, source: 'out.jwt' }, meta);
      expect(await outcome(check, ctx)).toBeUndefined();
    }
  });

  it('a generated token carries typ JWT, iat now, exp and nbf from the time values', async () => {
    const ctx = context();
    await generateJwtPolicy.create(
      {
        algorithm: 'ES256',
        privateKey: { value: secret('ec.key') },
        expiresIn: '30m',
        notBefore: '60',
        outputVariable: 'out.jwt',
      },
      meta,
    )(ctx);
    const [h, p] = ctx.variables.getString('out.jwt')!.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'ES256' });
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toEqual({
      iat: nowS,
      exp: nowS + 1800,
      nbf: nowS + 60,
    });
  });

  it('GenerateJWT lists criticalHeaders in crit; VerifyJWT accepts them only as knownHeaders', async () => {
    const ctx = context();
    await generateJwtPolicy.create(
      {
        algorithm: 'ES256',
        privateKey: { value: secret('ec.key') },
        additionalHeaders: [{ name: 'x-tenant', value: 'acme' }],
        criticalHeaders: ['x-tenant'],
        outputVariable: 'out.jwt',
      },
      meta,
    )(ctx);
    expect(ctx.variables.get('out.jwt')).toBeDefined();
    const fault = await outcome(verify({ source: 'out.jwt' }), ctx);
    expect(fault?.errorCode).toBe('steps.jwt.UnhandledCriticalHeader');
    expect(await outcome(verify({ source: 'out.jwt', knownHeaders: ['x-tenant'] }), ctx)).toBeUndefined();
    expect(ctx.variables.get('jwt.jwt-check.decoded.header.x-tenant')).toBe('acme');
  });

  it('GenerateJWT with a key that does not fit the algorithm fails with SigningFailed (500)', async () => {
    const fault = await outcome(
      generateJwtPolicy.create(
        { algorithm: 'ES256', privateKey: { value: secret('rsa.key') }, outputVariable: 'o' },
        meta,
      ),
      context(),
    );
    expect([fault?.errorCode, fault?.status]).toEqual(['steps.jwt.SigningFailed', 500]);
  });
});

describe('VerifyJWT faults and variables', () => {
  it('a missing token is FailedToResolveVariable; failed and error are set', async () => {
    const ctx = context();
    const fault = await outcome(verify({}), ctx);
    expect([fault?.errorCode, fault?.status]).toEqual(['steps.jwt.FailedToResolveVariable', 401]);
    expect(ctx.variables.get('jwt.jwt-check.failed')).toBe(true);
    expect(ctx.variables.get('jwt.jwt-check.valid')).toBe(false);
    expect(ctx.variables.getString('jwt.jwt-check.error')).toMatch(/resolve/);
  });

  it.each<[string, Partial<VerifyJwtConfig>, string]>([
    ['issuer', { issuer: 'https://other.test' }, 'steps.jwt.JwtIssuerMismatch'],
    ['audience', { audience: 'billing,admin' }, 'steps.jwt.JwtAudienceMismatch'],
    ['subject', { subject: 'mallory' }, 'steps.jwt.JwtSubjectMismatch'],
    ['jti', { id: 'abc' }, 'steps.jwt.InvalidClaim'],
    ['claim', { additionalClaims: [{ name: 'tier', value: 'gold' }] }, 'steps.jwt.InvalidClaim'],
    ['header', { additionalHeaders: [{ name: 'kid', value: 'k9' }] }, 'steps.jwt.InvalidClaim'],
  ])('a token for another %s: %s', async (_what, config, code) => {
    const token = await sign({ alg: 'ES256', kid: 'k1' }, claims, ec.privateKey);
    const fault = await outcome(verify(config), context(bearer(token)));
    expect([fault?.errorCode, fault?.status]).toEqual([code, 401]);
  });

  it('a tampered payload fails the signature (InvalidToken); claim.* are not set, decoded.claim.* are', async () => {
    const token = await sign({ alg: 'ES256' }, claims, ec.privateKey);
    const [h, , s] = token.split('.');
    const forged = `${h}.${b64({ ...claims, sub: 'admin' })}.${s}`;
    const ctx = context(bearer(forged));
    const fault = await outcome(verify({}), ctx);
    expect(fault?.errorCode).toBe('steps.jwt.InvalidToken');
    expect(ctx.variables.get('jwt.jwt-check.decoded.claim.sub')).toBe('admin');
    expect(ctx.variables.get('jwt.jwt-check.claim.subject')).toBeUndefined();
  });

  it('a ref that is unset fails with FailedToResolveVariable, or is skipped with ignoreUnresolvedVariables', async () => {
    const token = await sign({ alg: 'ES256' }, claims, ec.privateKey);
    const config = { issuer: { ref: 'expected.issuer' } };
    expect((await outcome(verify(config), context(bearer(token))))?.errorCode).toBe(
      'steps.jwt.FailedToResolveVariable',
    );
    expect(
      await outcome(verify({ ...config, ignoreUnresolvedVariables: true }), context(bearer(token))),
    ).toBeUndefined();
  });

  it('a Secret that holds no valid key is InvalidPublicKey', async () => {
    const token = await sign({ alg: 'ES256' }, claims, ec.privateKey);
    const fault = await outcome(verify({ publicKey: { value: secret('hmac') } }), context(bearer(token)));
    expect(fault?.errorCode).toBe('steps.jwt.InvalidPublicKey');
    expect(fault?.message).not.toContain(HMAC_SECRET);
  });

  it('an inline JWKS selects the key by kid', async () => {
    const jwks = JSON.stringify({
      keys: [
        { ...(await exportJWK(attacker.publicKey)), kid: 'other', alg: 'ES256' },
        { ...(await exportJWK(ec.publicKey)), kid: 'k1', alg: 'ES256' },
      ],
    });
    const token = await sign({ alg: 'ES256', kid: 'k1' }, claims, ec.privateKey);
    const step = verify({ publicKey: { jwks: { ref: 'keys' } } });
    expect(await outcome(step, context({ ...bearer(token), variables: { keys: jwks } }))).toBeUndefined();
    const unknown = await sign({ alg: 'ES256', kid: 'k2' }, claims, ec.privateKey);
    expect((await outcome(step, context({ ...bearer(unknown), variables: { keys: jwks } })))?.errorCode).toBe(
      'steps.jwt.NoMatchingPublicKey',
    );
  });

  it('DecodeJWT sets the header and claims without verifying', async () => {
    const token = await sign({ alg: 'ES256', kid: 'k1' }, claims, attacker.privateKey);
    const ctx = context(bearer(token));
    await decodeJwtPolicy.create({}, meta)(ctx);
    expect(ctx.variables.get('jwt.jwt-check.decoded.header.kid')).toBe('k1');
    expect(ctx.variables.get('jwt.jwt-check.decoded.claim.iss')).toBe('https://issuer.test');
    expect(ctx.variables.get('jwt.jwt-check.claim.issuer')).toBe('https://issuer.test');
    const bad = await outcome(decodeJwtPolicy.create({}, meta), context(bearer('not.a-token')));
    expect([bad?.errorCode, bad?.status]).toEqual(['steps.jwt.FailedToDecode', 401]);
  });
});

/** A key service that counts what it is asked, serving a fixed set. */
function countingKeys(set: JsonWebKeySet): RemoteKeySets & { calls: Array<[RemoteKeySource, string | undefined]> } {
  const calls: Array<[RemoteKeySource, string | undefined]> = [];
  return {
    calls,
    jwks: (source, kid) => {
      calls.push([source, kid]);
      return Promise.resolve(set);
    },
  };
}

describe('attack corpus', () => {
  let hits = 0;
  let server: Server;
  let attackerUrl = '';
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end('{"keys":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    attackerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('alg none (any spelling) is never accepted', async () => {
    for (const alg of ['none', 'None', 'NONE', '']) {
      const token = `${b64({ alg })}.${b64(claims)}.`;
      const fault = await outcome(verify({}), context(bearer(token)));
      expect(fault?.errorCode).toMatch(
        /^steps\.jwt\.(AlgorithmInTokenNotPresentInConfiguration|NoAlgorithmFoundInHeader)$/,
      );
    }
    expect(verifyJWT.schema.properties!.algorithms!.items!.enum).not.toContain('none');
  });

  it('InsufficientKeyLength: an HMAC key under the hash size (32/48/64 bytes), an RSA key under 2048 bits', async () => {
    // HS256 needs 32 bytes: 31 is refused by VerifyJWT (401) and GenerateJWT (500), 32 is accepted.
    for (const [alg, min] of [
      ['HS256', 32],
      ['HS384', 48],
      ['HS512', 64],
    ] as const) {
      const short = 'k'.repeat(min - 1);
      const token = await sign({ alg }, claims, Buffer.from(short));
      const check = verifyJwtPolicy.create({ algorithms: [alg], secretKey: { value: { ref: 'k' } } }, meta);
      const fault = await outcome(check, context({ ...bearer(token), variables: { k: short } }));
      expect([fault?.errorCode, fault?.status], alg).toEqual(['steps.jwt.InsufficientKeyLength', 401]);
      expect(fault?.message).not.toContain(short);
      const gen = generateJwtPolicy.create(
        { algorithm: alg, secretKey: { value: { ref: 'k' } }, outputVariable: 'out' },
        meta,
      );
      const genFault = await outcome(gen, context({ variables: { k: short } }));
      expect([genFault?.errorCode, genFault?.status], alg).toEqual(['steps.jwt.InsufficientKeyLength', 500]);
      const enough = 'k'.repeat(min);
      const good = await sign({ alg }, claims, Buffer.from(enough));
      expect(await outcome(check, context({ ...bearer(good), variables: { k: enough } })), alg).toBeUndefined();
    }
    // The length counts decoded bytes: 64 hex characters are 32 bytes, enough for HS256 and not for HS384.
    const hex = 'ab'.repeat(32);
    const hexToken = await sign({ alg: 'HS384' }, claims, Buffer.from(hex, 'hex'));
    const hexCheck = verifyJwtPolicy.create(
      { algorithms: ['HS384'], secretKey: { value: { ref: 'k' }, encoding: 'hex' } },
      meta,
    );
    expect((await outcome(hexCheck, context({ ...bearer(hexToken), variables: { k: hex } })))?.errorCode).toBe(
      'steps.jwt.InsufficientKeyLength',
    );
    // RSA 1024: jose refuses the key before looking at the signature; the policies say why.
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weakPub = weak.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const weakKey = weak.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const rsaCheck = verifyJwtPolicy.create({ algorithms: ['RS256'], publicKey: { value: { ref: 'pub' } } }, meta);
    const forged = `${b64({ alg: 'RS256' })}.${b64(claims)}.${'A'.repeat(171)}`;
    const rsaFault = await outcome(rsaCheck, context({ ...bearer(forged), variables: { pub: weakPub } }));
    expect([rsaFault?.errorCode, rsaFault?.status]).toEqual(['steps.jwt.InsufficientKeyLength', 401]);
    const rsaGen = generateJwtPolicy.create(
      { algorithm: 'RS256', privateKey: { value: { ref: 'key' } }, outputVariable: 'out' },
      meta,
    );
    const rsaGenFault = await outcome(rsaGen, context({ variables: { key: weakKey } }));
    expect([rsaGenFault?.errorCode, rsaGenFault?.status]).toEqual(['steps.jwt.InsufficientKeyLength', 500]);
  });

  it('HS/RS key confusion: an HS256 token signed with the RSA public key PEM as the secret is refused', async () => {
    const publicPem = secrets['default/jwt/rsa.pub']!;
    const token = await sign({ alg: 'HS256' }, claims, Buffer.from(publicPem));
    const step = verifyJwtPolicy.create({ algorithms: ['RS256'], publicKey: { value: secret('rsa.pub') } }, meta);
    expect((await outcome(step, context(bearer(token))))?.errorCode).toBe(
      'steps.jwt.AlgorithmInTokenNotPresentInConfiguration',
    );
    // And a config that would allow both families is refused before it can run.
    expect(verifyJWT.validate!({ algorithms: ['RS256', 'HS256'], publicKey: { value: secret('rsa.pub') } })).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'algorithms' })]),
    );
  });

  it('kid path and SQL tricks only select within the configured set, and refetch at most as the service allows', async () => {
    const keys = countingKeys({ keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'k1', alg: 'ES256' }] });
    const step = verify({ publicKey: { jwksUri: 'https://issuer.test/jwks' } });
    for (const kid of ['../../../../etc/passwd', "' OR '1'='1", 'k1/../k1', '%2e%2e%2f', 'k1\u0000']) {
      const token = await sign({ alg: 'ES256', kid }, claims, ec.privateKey);
      const fault = await outcome(step, context({ ...bearer(token), keys }));
      expect(fault?.errorCode).toBe('steps.jwt.NoMatchingPublicKey');
    }
    // Only the configured URL was ever asked for; the kid is passed as data, never as a URL or path.
    expect(new Set(keys.calls.map(([source]) => JSON.stringify(source)))).toEqual(
      new Set([JSON.stringify({ jwksUri: 'https://issuer.test/jwks' })]),
    );
  });

  it('jku, x5u, jwk and x5c headers are ignored: never fetched, never trusted', async () => {
    const jwk = await exportJWK(attacker.publicKey);
    const token = await sign(
      { alg: 'ES256', jku: attackerUrl, x5u: attackerUrl, jwk, x5c: ['MIIB'] },
      claims,
      attacker.privateKey,
    );
    const fault = await outcome(verify({}), context(bearer(token)));
    expect(fault?.errorCode).toBe('steps.jwt.InvalidToken');
    expect(hits).toBe(0);
  });

  it.each([
    ['expired', { exp: nowS - 10 }, undefined, 'steps.jwt.TokenExpired'],
    ['expired, within the time allowance', { exp: nowS - 10 }, '30s', undefined],
    ['expired beyond the time allowance', { exp: nowS - 60 }, '30s', 'steps.jwt.TokenExpired'],
    ['not yet valid', { nbf: nowS + 10 }, undefined, 'steps.jwt.TokenNotYetValid'],
    ['not yet valid, within the time allowance', { nbf: nowS + 10 }, '1m', undefined],
    ['issued in the future', { iat: nowS + 120 }, undefined, 'steps.jwt.TokenNotYetValid'],
    ['exp that is not a number', { exp: 'tomorrow' }, undefined, 'steps.jwt.InvalidToken'],
  ] as const)('%s', async (_what, times, timeAllowance, code) => {
    const token = await sign({ alg: 'ES256' }, { ...claims, ...times }, ec.privateKey);
    const fault = await outcome(verify(timeAllowance ? { timeAllowance } : {}), context(bearer(token)));
    expect(fault?.errorCode).toBe(code);
  });

  it('ignoreIssuedAt accepts an iat in the future', async () => {
    const token = await sign({ alg: 'ES256' }, { ...claims, iat: nowS + 120 }, ec.privateKey);
    expect(await outcome(verify({ ignoreIssuedAt: true }), context(bearer(token)))).toBeUndefined();
  });

  it('an oversized token is refused before any key is looked up', async () => {
    const keys = countingKeys({ keys: [] });
    const token = await sign({ alg: 'ES256' }, { ...claims, pad: 'x'.repeat(20_000) }, ec.privateKey);
    const fault = await outcome(
      verify({ publicKey: { jwksUri: 'https://issuer.test/jwks' } }),
      context({ ...bearer(token), keys }),
    );
    expect(fault?.errorCode).toBe('steps.jwt.FailedToDecode');
    expect(keys.calls).toEqual([]);
  });

  it('an unknown crit header fails; knownHeaders or ignoreCriticalHeaders accept it', async () => {
    const token = await sign({ alg: 'ES256', crit: ['exp-hint'], 'exp-hint': 1 }, claims, ec.privateKey);
    expect((await outcome(verify({}), context(bearer(token))))?.errorCode).toBe('steps.jwt.UnhandledCriticalHeader');
    expect(await outcome(verify({ knownHeaders: ['exp-hint'] }), context(bearer(token)))).toBeUndefined();
    expect(await outcome(verify({ ignoreCriticalHeaders: true }), context(bearer(token)))).toBeUndefined();
  });

  it.each([
    ['four parts', 'a.b.c.d'],
    ['base64 with padding', `${b64({ alg: 'ES256' })}=.${b64(claims)}.sig`],
    ['standard base64 characters', `${b64({ alg: 'ES256' })}.${b64(claims)}.a+b/`],
    ['a header that is not JSON', `${b64('{alg')}.${b64(claims)}.sig`],
    ['a header that is an array', `${b64([1])}.${b64(claims)}.sig`],
    ['a header with __proto__', `${b64('{"alg":"ES256","__proto__":{"x":1}}')}.${b64(claims)}.sig`],
  ])('malformed: %s is FailedToDecode', async (_what, token) => {
    expect((await outcome(verify({}), context(bearer(token))))?.errorCode).toBe('steps.jwt.FailedToDecode');
  });

  it('a header or payload naming a member twice is refused, even when the signature is good', async () => {
    const hs = verifyJwtPolicy.create({ algorithms: ['HS256'], secretKey: { value: secret('hmac') } }, meta);
    const good = hs256Raw('{"alg":"HS256"}', JSON.stringify(claims));
    expect(await outcome(hs, context(bearer(good)))).toBeUndefined();
    for (const token of [
      hs256Raw('{"alg":"HS256","alg":"none"}', JSON.stringify(claims)),
      hs256Raw('{"alg":"HS256","\\u0061lg":"HS256"}', JSON.stringify(claims)),
      hs256Raw('{"alg":"HS256"}', '{"sub":"alice","sub":"admin"}'),
    ])
      expect((await outcome(hs, context(bearer(token))))?.errorCode).toBe('steps.jwt.FailedToDecode');
  });
});

describe("Apigee's fault codes and statuses", () => {
  // Apigee's policy error reference (VerifyJWT, GenerateJWT, DecodeJWT, VerifyJWS, GenerateJWS,
  // DecodeJWS): the codes these policies raise and the status each answers with.
  const apigeeTable: Array<[string, number | '401 or 500']> = [
    ['steps.jwt.AlgorithmInTokenNotPresentInConfiguration', 401],
    ['steps.jwt.EncryptionFailed', 500],
    ['steps.jwt.FailedToDecode', 401],
    ['steps.jwt.FailedToResolveVariable', '401 or 500'],
    ['steps.jwt.InsufficientKeyLength', '401 or 500'],
    ['steps.jwt.InvalidClaim', '401 or 500'],
    ['steps.jwt.InvalidPrivateKey', 500],
    ['steps.jwt.InvalidPublicKey', 401],
    ['steps.jwt.InvalidSecretKey', '401 or 500'],
    ['steps.jwt.InvalidToken', 401],
    ['steps.jwt.JwtAudienceMismatch', 401],
    ['steps.jwt.JwtIssuerMismatch', 401],
    ['steps.jwt.JwtSubjectMismatch', 401],
    ['steps.jwt.NoAlgorithmFoundInHeader', 401],
    ['steps.jwt.NoMatchingPublicKey', 401],
    ['steps.jwt.SigningFailed', 500],
    ['steps.jwt.TokenExpired', 401],
    ['steps.jwt.TokenNotYetValid', 401],
    ['steps.jwt.UnhandledCriticalHeader', 401],
    ['steps.jwt.UnknownException', 401],
    ['steps.jws.AlgorithmInTokenNotPresentInConfiguration', 401],
    ['steps.jws.ContentIsNotDetached', 401],
    ['steps.jws.FailedToDecode', 401],
    ['steps.jws.FailedToResolveVariable', '401 or 500'],
    ['steps.jws.InsufficientKeyLength', '401 or 500'],
    ['steps.jws.InvalidClaim', 401],
    ['steps.jws.InvalidPrivateKey', 500],
    ['steps.jws.InvalidPublicKey', 401],
    ['steps.jws.InvalidSecretKey', '401 or 500'],
    ['steps.jws.InvalidSignature', 401],
    ['steps.jws.MissingPayload', 401],
    ['steps.jws.NoAlgorithmFoundInHeader', 401],
    ['steps.jws.NoMatchingPublicKey', 401],
    ['steps.jws.SigningFailed', 500],
    ['steps.jws.UnhandledCriticalHeader', 401],
    ['steps.jws.UnknownException', 401],
  ];

  it('every code the policies raise is in the table, with the status docs/errors.md gives', () => {
    const raised = [...Object.values(jwtFaultCodes), ...Object.values(jwsFaultCodes)].sort();
    expect(raised).toEqual(apigeeTable.map(([code]) => code).sort());
    for (const [code, status] of apigeeTable) {
      const entry = errorCodes.find((e) => e.code === code);
      expect(entry?.apigee, code).toBe(code);
      if (typeof status === 'number') expect(entry?.httpStatus, code).toBe(status);
      else expect(entry?.statusNote, code).toMatch(/401.*500/);
    }
  });
});
