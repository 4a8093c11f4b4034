// OAuthV2's JWT operations (GenerateJWTAccessToken, RefreshJWTAccessToken, VerifyJWTAccessToken) and
// AppEndUser: the token's shape (RFC 9068 typ at+JWT, Apigee's claims), verification by an independent
// library (jose's jwtVerify here, PyJWT in e2e/jwt/pyjwt.int.test.ts), and the attack corpus: alg
// confusion and none, a token signed by another namespace's key or for another namespace, expired,
// a tampered scope, a JWT that is not an access token, a validly signed token never issued, refresh
// after rotation (of the refresh token and of the signing key), revocation, short HMAC keys.
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CompactSign, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { App } from '../../../../protos/gen/gatehouse/v1/App.ts';
import type { Product } from '../../../../protos/gen/gatehouse/v1/Product.ts';
import { oauthV2, type OAuthV2Config } from '../../../../protos/policies/security/oauth-v2.ts';
import type { RuntimeSnapshotInput } from '../../config/decode.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makeClock, makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { StepResult } from '../../flow/types.ts';
import { createMemoryStores } from '../../stores/memory.ts';
import { generateJwtPolicy } from './generate-jwt.ts';
import { getOAuthV2InfoPolicy } from './get-oauth-v2-info.ts';
import { oauthV2Policy } from './oauth-v2.ts';

const HASH_KEY = '00112233445566778899aabbccddeeff';
const hash = (v: string) => createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(v).digest('hex');
const NOW = Date.UTC(2026, 0, 1);

const pem = (key: KeyObject, type: 'spki' | 'pkcs8') => key.export({ type, format: 'pem' }).toString();
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaNext = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherTenant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const HMAC = 'an-hmac-secret-of-at-least-32-bytes!!';

const product = (namespace: string): Product => ({
  namespace,
  name: 'orders-basic',
  proxies: ['orders'],
  resources: ['/**'],
  scopes: ['read', 'write'],
  attributes: {},
});
const app = (namespace: string, id: string, secret: string): App => ({
  namespace,
  name: 'mobile',
  developerEmail: 'dev@example.com',
  status: 'Approved',
  callbackUrl: 'https://app.example.com/cb',
  products: [{ name: 'orders-basic', status: 'Approved' }],
  credentials: [{ keyHash: hash(id), secretHash: hash(secret), status: 'Approved' }],
});
const snapshot: RuntimeSnapshotInput = {
  credentialHashKey: HASH_KEY,
  products: [product('shop'), product('rival')],
  apps: [app('shop', 'client-a', 'secret-a'), app('rival', 'client-r', 'secret-r')],
};

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const keys = {
  'k.rsa': pem(rsa.privateKey, 'pkcs8'),
  'k.rsa.pub': pem(rsa.publicKey, 'spki'),
  'k.next': pem(rsaNext.privateKey, 'pkcs8'),
  'k.next.pub': pem(rsaNext.publicKey, 'spki'),
  'k.rival': pem(otherTenant.privateKey, 'pkcs8'),
  'k.rival.pub': pem(otherTenant.publicKey, 'spki'),
  'k.hmac': HMAC,
};

type Config = Partial<OAuthV2Config> & Pick<OAuthV2Config, 'operation'>;
const RS_GEN: Config = {
  operation: 'GenerateJWTAccessToken',
  algorithm: 'RS256',
  privateKey: { value: { ref: 'k.rsa' } },
  supportedGrantTypes: ['client_credentials', 'password', 'refresh_token'],
  generateResponse: true,
};
const RS_VERIFY: Config = {
  operation: 'VerifyJWTAccessToken',
  algorithm: 'RS256',
  publicKey: { value: { ref: 'k.rsa.pub' } },
};

function world() {
  const clock = makeClock(NOW);
  const stores = createMemoryStores(clock.now);
  let n = 0;
  const step = (config: Config, namespace = 'shop') =>
    oauthV2Policy.create(config, { namespace, name: `oauth-${++n}` });
  const ctx = (opts: PolicyContextOptions, namespace = 'shop') =>
    makePolicyContext({
      proxy: { namespace, name: 'orders', route: `${namespace}/orders`, basePath: '/orders/v1' },
      path: '/orders/v1/orders',
      snapshot,
      stores,
      now: clock.now,
      ...opts,
      variables: { ...keys, ...opts.variables },
    });
  const tokenRequest = (fields: Record<string, string>, auth = basic('client-a', 'secret-a'), namespace = 'shop') =>
    ctx(
      {
        method: 'POST',
        headers: { authorization: auth },
        contentType: 'application/x-www-form-urlencoded',
        body: new URLSearchParams(fields).toString(),
      },
      namespace,
    );
  const bearer = (token: string, namespace = 'shop') =>
    ctx({ headers: { authorization: `Bearer ${token}` } }, namespace);
  const issue = async (
    config: Config = RS_GEN,
    fields: Record<string, string> = { grant_type: 'client_credentials' },
  ) => bodyOf(await step(config)(tokenRequest(fields)));
  return { clock, stores, step, ctx, tokenRequest, bearer, issue };
}

async function faultOf(promise: unknown): Promise<PolicyFault> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof PolicyFault) return err;
    throw err;
  }
  throw new Error('expected a PolicyFault');
}

function bodyOf(result: StepResult): Record<string, unknown> {
  if (!result) throw new Error('expected a response');
  return JSON.parse(result.respond.body) as Record<string, unknown>;
}

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('GenerateJWTAccessToken and VerifyJWTAccessToken', () => {
  it('issues an RFC 9068 JWT (typ at+JWT) with Apigee’s claims, verified by jose and by the policy', async () => {
    const w = world();
    const body = await w.issue();
    const token = body.access_token as string;
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', typ: 'at+JWT' });
    const { payload } = await jwtVerify(token, rsa.publicKey, {
      typ: 'at+JWT',
      issuer: 'http://gateway.test/orders/v1',
      currentDate: new Date(NOW),
    });
    expect(payload).toMatchObject({
      sub: 'client-a',
      client_id: 'client-a',
      scope: 'read write',
      iat: NOW / 1000,
      exp: NOW / 1000 + 1800,
    });
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(body).toMatchObject({ token_type: 'BearerToken', expires_in: '1800', client_id: 'client-a' });

    const ctx = w.bearer(token);
    await w.step(RS_VERIFY)(ctx);
    expect(ctx.variables.get('client_id')).toBe('client-a');
    expect(ctx.variables.get('scope')).toBe('read write');
    expect(ctx.variables.get('access_token')).toBe(token);
  });

  it('HS256 with a secret key; a key under 32 bytes is InsufficientKeyLength (500 issuing, 401 verifying)', async () => {
    const w = world();
    const hs: Config = {
      ...RS_GEN,
      algorithm: 'HS256',
      privateKey: undefined,
      secretKey: { value: { ref: 'k.hmac' } },
    };
    const token = (await w.issue(hs)).access_token as string;
    await w.step({ operation: 'VerifyJWTAccessToken', algorithm: 'HS256', secretKey: { value: { ref: 'k.hmac' } } })(
      w.bearer(token),
    );
    const short = w.tokenRequest({ grant_type: 'client_credentials' });
    short.variables.set('k.hmac', 'x'.repeat(31));
    const fault = await faultOf(w.step(hs)(short));
    expect([fault.errorCode, fault.status]).toEqual(['steps.jwt.InsufficientKeyLength', 500]);
    const verifyShort = w.bearer(token);
    verifyShort.variables.set('k.hmac', 'x'.repeat(31));
    const vf = await faultOf(
      w.step({ operation: 'VerifyJWTAccessToken', algorithm: 'HS256', secretKey: { value: { ref: 'k.hmac' } } })(
        verifyShort,
      ),
    );
    expect([vf.errorCode, vf.status]).toEqual(['steps.jwt.InsufficientKeyLength', 401]);
  });

  it('checks the required scope and the product as VerifyAccessToken does', async () => {
    const w = world();
    const token = (await w.issue(RS_GEN, { grant_type: 'client_credentials', scope: 'read' })).access_token as string;
    const f = await faultOf(w.step({ ...RS_VERIFY, scope: 'write' })(w.bearer(token)));
    expect([f.errorCode, f.status]).toEqual(['steps.oauth.v2.insufficient_scope', 403]);
    await w.step({ ...RS_VERIFY, scope: 'read' })(w.bearer(token));
  });
});

describe('JWT access tokens: attacks', () => {
  it('alg confusion: HS256 signed with the RSA public key PEM as the secret is refused; so is alg none', async () => {
    const w = world();
    const good = (await w.issue()).access_token as string;
    const claims = claimsOf(good);
    const confused = await new CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+JWT' })
      .sign(Buffer.from(keys['k.rsa.pub']));
    const f = await faultOf(w.step(RS_VERIFY)(w.bearer(confused)));
    expect([f.errorCode, f.status]).toEqual(['keymanagement.service.invalid_access_token', 401]);
    const none = `${b64({ alg: 'none', typ: 'at+JWT' })}.${good.split('.')[1]}.`;
    expect((await faultOf(w.step(RS_VERIFY)(w.bearer(none)))).errorCode).toBe(
      'keymanagement.service.invalid_access_token',
    );
  });

  it('a token of another namespace: signed by its key, or by the same key but issued there, is unknown here', async () => {
    const w = world();
    const rivalGen = w.step({ ...RS_GEN, privateKey: { value: { ref: 'k.rival' } } }, 'rival');
    const rivalToken = bodyOf(
      await rivalGen(w.tokenRequest({ grant_type: 'client_credentials' }, basic('client-r', 'secret-r'), 'rival')),
    ).access_token as string;
    const f = await faultOf(w.step(RS_VERIFY)(w.bearer(rivalToken)));
    expect(f.errorCode).toBe('keymanagement.service.invalid_access_token');
    // The rival's token verifies on the rival's proxy (with the rival's key)...
    await w.step(
      { ...RS_VERIFY, publicKey: { value: { ref: 'k.rival.pub' } } },
      'rival',
    )(w.bearer(rivalToken, 'rival'));
    // ...and a key shared by both tenants still does not carry a token across: the store is per namespace.
    const shared = w.step(RS_GEN, 'rival');
    const sharedToken = bodyOf(
      await shared(w.tokenRequest({ grant_type: 'client_credentials' }, basic('client-r', 'secret-r'), 'rival')),
    ).access_token as string;
    expect((await faultOf(w.step(RS_VERIFY)(w.bearer(sharedToken)))).errorCode).toBe(
      'keymanagement.service.invalid_access_token',
    );
  });

  it('an expired token is access_token_expired', async () => {
    const w = world();
    const token = (await w.issue({ ...RS_GEN, expiresIn: 60_000 })).access_token as string;
    w.clock.advance(60_000);
    const f = await faultOf(w.step(RS_VERIFY)(w.bearer(token)));
    expect([f.errorCode, f.status]).toEqual(['keymanagement.service.access_token_expired', 401]);
  });

  it('a tampered scope claim breaks the signature', async () => {
    const w = world();
    const token = (await w.issue(RS_GEN, { grant_type: 'client_credentials', scope: 'read' })).access_token as string;
    const [h, , s] = token.split('.');
    const tampered = `${h}.${b64({ ...claimsOf(token), scope: 'read write' })}.${s}`;
    const f = await faultOf(w.step({ ...RS_VERIFY, scope: 'write' })(w.bearer(tampered)));
    expect(f.errorCode).toBe('keymanagement.service.invalid_access_token');
  });

  it('a JWT that is not an access token (typ JWT, from GenerateJWT with the same key) is refused', async () => {
    const w = world();
    const ctx = w.ctx({});
    await generateJwtPolicy.create(
      { algorithm: 'RS256', privateKey: { value: { ref: 'k.rsa' } }, subject: 'client-a', outputVariable: 'out' },
      { namespace: 'shop', name: 'gen' },
    )(ctx);
    const idToken = ctx.variables.getString('out')!;
    expect((await faultOf(w.step(RS_VERIFY)(w.bearer(idToken)))).errorCode).toBe(
      'keymanagement.service.invalid_access_token',
    );
  });

  it('a validly signed at+JWT that was never issued (a leaked key, another issuer) is unknown to the store', async () => {
    const w = world();
    const forged = await new CompactSign(
      Buffer.from(
        JSON.stringify({ sub: 'client-a', client_id: 'client-a', scope: 'read write', exp: NOW / 1000 + 60 }),
      ),
    )
      .setProtectedHeader({ alg: 'RS256', typ: 'at+JWT' })
      .sign(rsa.privateKey);
    expect((await faultOf(w.step(RS_VERIFY)(w.bearer(forged)))).errorCode).toBe(
      'keymanagement.service.invalid_access_token',
    );
  });

  it('refresh after rotation: RefreshJWTAccessToken issues a new JWT, the old refresh and access tokens stop working', async () => {
    const w = world();
    const first = await w.issue(RS_GEN, { grant_type: 'password', username: 'u', password: 'p' });
    const refresh = w.step({
      operation: 'RefreshJWTAccessToken',
      algorithm: 'RS256',
      privateKey: { value: { ref: 'k.rsa' } },
      generateResponse: true,
    });
    w.clock.advance(1000);
    const second = bodyOf(
      await refresh(w.tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token as string })),
    );
    expect(second.access_token).not.toBe(first.access_token);
    expect(decodeProtectedHeader(second.access_token as string).typ).toBe('at+JWT');
    await w.step(RS_VERIFY)(w.bearer(second.access_token as string));
    expect((await faultOf(w.step(RS_VERIFY)(w.bearer(first.access_token as string)))).errorCode).toBe(
      'keymanagement.service.invalid_access_token',
    );
    const replay = await faultOf(
      refresh(w.tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token as string })),
    );
    expect(replay.errorCode).toBe('oauth.v2.invalid_grant');
  });

  it('signing key rotation: a refresh signs with the new key; tokens of the old key fail where only the new one is trusted', async () => {
    const w = world();
    const first = await w.issue(RS_GEN, { grant_type: 'password', username: 'u', password: 'p' });
    const rotated = bodyOf(
      await w.step({ ...RS_GEN, privateKey: { value: { ref: 'k.next' } } })(
        w.tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token as string }),
      ),
    );
    const nextVerify: Config = { ...RS_VERIFY, publicKey: { value: { ref: 'k.next.pub' } } };
    await w.step(nextVerify)(w.bearer(rotated.access_token as string));
    const old = await w.issue();
    expect((await faultOf(w.step(nextVerify)(w.bearer(old.access_token as string)))).errorCode).toBe(
      'keymanagement.service.invalid_access_token',
    );
  });

  it('InvalidateToken revokes a JWT access token at once, although its signature stays good', async () => {
    const w = world();
    const token = (await w.issue()).access_token as string;
    await w.step({
      operation: 'InvalidateToken',
      tokens: [{ type: 'accesstoken', value: { ref: 'request.header.x-token' } }],
    })(w.ctx({ headers: { 'x-token': token } }));
    const f = await faultOf(w.step(RS_VERIFY)(w.bearer(token)));
    expect(f.errorCode).toBe('keymanagement.service.access_token_not_approved');
  });

  it('garbage, oversized and crit/b64 tokens are invalid_access_token, never a crash', async () => {
    const w = world();
    const good = (await w.issue()).access_token as string;
    const [, p, s] = good.split('.');
    for (const token of [
      'x',
      'a.b.c',
      `${'A'.repeat(5000)}.${p}.${s}`,
      `${b64({ alg: 'RS256', typ: 'at+JWT', crit: ['b64'], b64: false })}.${p}.${s}`,
      `${b64({ alg: 'RS256', typ: 'at+JWT', __proto__: { x: 1 } })}.${p}.${s}`,
    ]) {
      const f = await faultOf(w.step(RS_VERIFY)(w.bearer(token)));
      expect(f.errorCode, token.slice(0, 40)).toBe('keymanagement.service.invalid_access_token');
    }
  });
});

describe('OAuthV2 JWT operations: compile checks', () => {
  const problems = (c: Config) => oauthV2.validate!(c);
  it.each([
    [{ operation: 'GenerateJWTAccessToken', privateKey: { value: { ref: 'k' } } }, 'algorithm'],
    [{ operation: 'GenerateJWTAccessToken', algorithm: 'RS256' }, 'privateKey'],
    [{ operation: 'GenerateJWTAccessToken', algorithm: 'HS256', secretKey: { value: 'literal' } }, 'secretKey.value'],
    [{ ...RS_VERIFY, privateKey: { value: { ref: 'k' } } }, 'privateKey'],
    [{ operation: 'VerifyAccessToken', algorithm: 'RS256' }, 'algorithm'],
    [{ ...RS_GEN, externalAccessToken: { ref: 'x' }, storeToken: true }, 'externalAccessToken'],
    [{ operation: 'VerifyJWTAccessToken', algorithm: 'HS256', publicKey: { value: { ref: 'k' } } }, 'secretKey'],
  ] as Array<[Config, string]>)('%j is refused at %s', (config, path) => {
    expect(problems(config)).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
  });
  it('a sound config has no problems', () => {
    expect(problems(RS_GEN)).toEqual([]);
    expect(problems(RS_VERIFY)).toEqual([]);
  });
});

describe('AppEndUser', () => {
  it('is kept with the token: app_enduser in the response, VerifyAccessToken and GetOAuthV2Info; the JWT sub', async () => {
    const w = world();
    const gen = w.step({
      operation: 'GenerateAccessToken',
      supportedGrantTypes: ['password'],
      generateResponse: true,
      appEndUser: { ref: 'request.formparam.username' },
    });
    const body = bodyOf(await gen(w.tokenRequest({ grant_type: 'password', username: 'alice', password: 'pw' })));
    expect(body.app_enduser).toBe('alice');
    const ctx = w.bearer(body.access_token as string);
    await w.step({ operation: 'VerifyAccessToken' })(ctx);
    expect(ctx.variables.get('app_enduser')).toBe('alice');
    await getOAuthV2InfoPolicy.create(
      { accessToken: { ref: 'access_token' } },
      { namespace: 'shop', name: 'info' },
    )(ctx);
    expect(ctx.variables.get('oauthv2accesstoken.info.app_enduser')).toBe('alice');

    const jwt = await w.issue(
      { ...RS_GEN, appEndUser: { ref: 'request.formparam.username' } },
      {
        grant_type: 'password',
        username: 'bob',
        password: 'pw',
      },
    );
    expect(claimsOf(jwt.access_token as string).sub).toBe('bob');
    expect(jwt.app_enduser).toBe('bob');
  });

  it('travels with an authorization code and a refresh', async () => {
    const w = world();
    const codeStep = w.step({ operation: 'GenerateAuthorizationCode', appEndUser: { ref: 'request.queryparam.user' } });
    const codeCtx = w.ctx({ query: 'response_type=code&client_id=client-a&user=carol' });
    await codeStep(codeCtx);
    const code = codeCtx.variables.getString('oauthv2authcode.oauth-1.code')!;
    expect(code).toBeDefined();
    const issued = await w.issue(
      { operation: 'GenerateAccessToken', supportedGrantTypes: ['authorization_code'], generateResponse: true },
      { grant_type: 'authorization_code', code },
    );
    expect(issued.app_enduser).toBe('carol');
    const refreshed = await w.issue(
      { operation: 'RefreshAccessToken', generateResponse: true },
      { grant_type: 'refresh_token', refresh_token: issued.refresh_token as string },
    );
    expect(refreshed.app_enduser).toBe('carol');
  });
});
