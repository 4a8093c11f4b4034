import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { App } from '../../../../protos/gen/gatehouse/v1/App.ts';
import type { Product } from '../../../../protos/gen/gatehouse/v1/Product.ts';
import type { OAuthV2Config } from '../../../../protos/policies/security/oauth-v2.ts';
import type { RuntimeSnapshotInput } from '../../config/decode.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makeClock, makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { StepResult } from '../../flow/types.ts';
import { createMemoryStores } from '../../stores/memory.ts';
import { StoreUnavailableError } from '../../stores/types.ts';
import { oauthV2Policy } from './oauth-v2.ts';

const HASH_KEY = '00112233445566778899aabbccddeeff';
const hash = (v: string) => createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(v).digest('hex');

const product = (over: Partial<Product> = {}): Product => ({
  namespace: 'shop',
  name: 'orders-basic',
  proxies: ['orders'],
  resources: ['/**'],
  scopes: ['read', 'write'],
  attributes: { tier: 'gold' },
  ...over,
});

const app = (over: Partial<App> = {}): App => ({
  namespace: 'shop',
  name: 'mobile',
  developerEmail: 'dev@example.com',
  status: 'Approved',
  callbackUrl: 'https://app.example.com/cb',
  products: [
    { name: 'orders-basic', status: 'Approved' },
    { name: 'other', status: 'Approved' },
  ],
  credentials: [{ keyHash: hash('client-a'), secretHash: hash('secret-a'), status: 'Approved' }],
  ...over,
});

const appB = app({
  name: 'partner',
  credentials: [{ keyHash: hash('client-b'), secretHash: hash('secret-b'), status: 'Approved' }],
});

const baseSnapshot: RuntimeSnapshotInput = {
  credentialHashKey: HASH_KEY,
  products: [product(), product({ name: 'other', proxies: ['billing'], scopes: ['admin'] })],
  apps: [app(), appB],
};

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function world(snapshot: RuntimeSnapshotInput = baseSnapshot) {
  const clock = makeClock(Date.UTC(2026, 0, 1));
  const stores = createMemoryStores(clock.now);
  let n = 0;
  const step = (config: Partial<OAuthV2Config> & Pick<OAuthV2Config, 'operation'>) =>
    oauthV2Policy.create(config, { namespace: 'shop', name: `oauth-${++n}` });
  const ctx = (opts: PolicyContextOptions) =>
    makePolicyContext({
      proxy: { namespace: 'shop', name: 'orders', route: 'shop/orders', basePath: '/orders/v1' },
      path: '/orders/v1/orders',
      snapshot,
      stores,
      now: clock.now,
      ...opts,
    });
  const tokenRequest = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    ctx({ method: 'POST', headers, contentType: 'application/x-www-form-urlencoded', body: form(fields) });
  const bearer = (token: string, opts: PolicyContextOptions = {}) =>
    ctx({ headers: { authorization: `Bearer ${token}` }, ...opts });
  return { clock, stores, step, ctx, tokenRequest, bearer };
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

const ALL_GRANTS: OAuthV2Config['supportedGrantTypes'] = [
  'client_credentials',
  'password',
  'authorization_code',
  'refresh_token',
];

describe('OAuthV2 GenerateAccessToken', () => {
  it('issues a client_credentials token with Apigee response body and variables', async () => {
    const w = world();
    const gen = w.step({ operation: 'GenerateAccessToken', generateResponse: true });
    const ctx = w.tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('client-a', 'secret-a') });
    const body = bodyOf(await gen(ctx));
    expect(body).toMatchObject({
      token_type: 'BearerToken',
      expires_in: '1800',
      client_id: 'client-a',
      application_name: 'mobile',
      api_product_list: '[orders-basic, other]',
      status: 'approved',
      scope: 'read write admin',
      refresh_token_expires_in: '0',
      issued_at: String(Date.UTC(2026, 0, 1)),
    });
    expect(body.refresh_token).toBeUndefined();
    expect(typeof body.access_token).toBe('string');
    expect(ctx.variables.get('oauthv2accesstoken.oauth-1.access_token')).toBe(body.access_token);
    expect(ctx.variables.get('oauthV2.oauth-1.failed')).toBe(false);
    // The store holds neither the token nor the client id in clear.
    const verify = w.step({ operation: 'VerifyAccessToken' });
    const v = w.bearer(body.access_token as string);
    expect(await verify(v)).toBeUndefined();
    expect(v.variables.get('client_id')).toBe('client-a');
    expect(v.variables.get('developer.app.name')).toBe('mobile');
    expect(v.variables.get('apiproduct.name')).toBe('orders-basic');
    expect(v.variables.get('apiproduct.tier')).toBe('gold');
  });

  it('authenticates with form fields too, and refuses a wrong secret, an unknown client and an unsupported grant', async () => {
    const w = world();
    const gen = w.step({ operation: 'GenerateAccessToken', generateResponse: true });
    const ok = await gen(
      w.tokenRequest({ grant_type: 'client_credentials', client_id: 'client-a', client_secret: 'secret-a' }),
    );
    expect(bodyOf(ok).access_token).toBeTruthy();
    const wrong = await faultOf(
      gen(w.tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('client-a', 'nope') })),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.errorCode).toBe('oauth.v2.invalid_client');
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic/);
    expect(JSON.parse(wrong.body!.content)).toEqual({
      ErrorCode: 'invalid_client',
      Error: 'Invalid client credentials',
    });
    const unknown = await faultOf(
      gen(w.tokenRequest({ grant_type: 'client_credentials', client_id: 'who', client_secret: 'x' })),
    );
    expect(unknown.errorCode).toBe('oauth.v2.invalid_client');
    const noSecret = await faultOf(gen(w.tokenRequest({ grant_type: 'client_credentials', client_id: 'client-a' })));
    expect(noSecret.errorCode).toBe('oauth.v2.invalid_client');
    const grant = await faultOf(
      gen(w.tokenRequest({ grant_type: 'password' }, { authorization: basic('client-a', 'secret-a') })),
    );
    expect([grant.status, grant.errorCode]).toEqual([400, 'oauth.v2.unsupported_grant_type']);
    const missing = await faultOf(gen(w.tokenRequest({}, { authorization: basic('client-a', 'secret-a') })));
    expect(JSON.parse(missing.body!.content)).toEqual({
      ErrorCode: 'invalid_request',
      Error: 'Required param : grant_type',
    });
  });

  it("refuses another namespace's app on this namespace's token endpoint (tenancy)", async () => {
    const w = world();
    const gen = w.step({ operation: 'GenerateAccessToken', generateResponse: true });
    const ctx = makePolicyContext({
      proxy: { namespace: 'other', name: 'token', route: 'other/token', basePath: '/' },
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      headers: { authorization: basic('client-a', 'secret-a') },
      body: form({ grant_type: 'client_credentials' }),
      snapshot: baseSnapshot,
      stores: w.stores,
      now: w.clock.now,
    });
    const f = await faultOf(gen(ctx));
    expect([f.status, f.errorCode]).toEqual([401, 'oauth.v2.invalid_client']);
  });

  it('answers RFC 6749 shapes under rfcCompliantRequestResponse', async () => {
    const w = world();
    const gen = w.step({ operation: 'GenerateAccessToken', generateResponse: true, rfcCompliantRequestResponse: true });
    const body = bodyOf(
      await gen(w.tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('client-a', 'secret-a') })),
    );
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 1800 });
    const bad = await faultOf(
      gen(w.tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('client-a', 'x') })),
    );
    expect(JSON.parse(bad.body!.content)).toEqual({
      error: 'invalid_client',
      error_description: 'Invalid client credentials',
    });
  });

  it('without generateResponse sets variables only, and faults use the standard body', async () => {
    const w = world();
    const gen = w.step({ operation: 'GenerateAccessToken' });
    const ctx = w.tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('client-a', 'secret-a') });
    expect(await gen(ctx)).toBeUndefined();
    expect(ctx.variables.get('oauthv2accesstoken.oauth-1.token_type')).toBe('BearerToken');
    const f = await faultOf(
      gen(w.tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('client-a', 'x') })),
    );
    expect(f.body).toBeUndefined();
    expect(f.errorCode).toBe('oauth.v2.invalid_client');
  });

  it('grants requested scopes of the products only', async () => {
    const w = world();
    const gen = w.step({ operation: 'GenerateAccessToken', generateResponse: true });
    const auth = { authorization: basic('client-a', 'secret-a') };
    expect(bodyOf(await gen(w.tokenRequest({ grant_type: 'client_credentials', scope: 'read' }, auth))).scope).toBe(
      'read',
    );
    const f = await faultOf(gen(w.tokenRequest({ grant_type: 'client_credentials', scope: 'read root' }, auth)));
    expect([f.status, f.errorCode]).toEqual([400, 'oauth.v2.invalid_scope']);
  });

  it('keeps custom attributes, showing only display ones in the response', async () => {
    const w = world();
    const gen = w.step({
      operation: 'GenerateAccessToken',
      generateResponse: true,
      attributes: [
        { name: 'tier', value: 'gold', display: true },
        { name: 'secret_note', value: { ref: 'request.header.x-note' } },
      ],
    });
    const ctx = w.tokenRequest(
      { grant_type: 'client_credentials' },
      { authorization: basic('client-a', 'secret-a'), 'x-note': 'hidden' },
    );
    const body = bodyOf(await gen(ctx));
    expect(body.tier).toBe('gold');
    expect(body.secret_note).toBeUndefined();
    expect(ctx.variables.get('oauthv2accesstoken.oauth-1.secret_note')).toBe('hidden');
    const v = w.bearer(body.access_token as string);
    await w.step({ operation: 'VerifyAccessToken' })(v);
    expect(v.variables.get('accesstoken.secret_note')).toBe('hidden');
  });
});

describe('OAuthV2 VerifyAccessToken', () => {
  async function token(w: ReturnType<typeof world>, extra: Partial<OAuthV2Config> = {}, scope?: string) {
    const gen = w.step({ operation: 'GenerateAccessToken', generateResponse: true, ...extra });
    const fields: Record<string, string> = { grant_type: 'client_credentials', ...(scope ? { scope } : {}) };
    return bodyOf(await gen(w.tokenRequest(fields, { authorization: basic('client-a', 'secret-a') })))
      .access_token as string;
  }

  it('refuses a missing or non-Bearer header, unknown, oversized and garbage tokens', async () => {
    const w = world();
    const verify = w.step({ operation: 'VerifyAccessToken' });
    expect((await faultOf(verify(w.ctx({})))).errorCode).toBe('oauth.v2.InvalidAccessToken');
    expect((await faultOf(verify(w.ctx({ headers: { authorization: 'Basic abc' } })))).errorCode).toBe(
      'oauth.v2.InvalidAccessToken',
    );
    for (const t of ['nope', 'x'.repeat(5000), '\u0000\u00ff;DROP', '../../etc/passwd']) {
      const f = await faultOf(verify(w.bearer(t)));
      expect([f.status, f.errorCode]).toEqual([401, 'keymanagement.service.invalid_access_token']);
    }
  });

  it('reads the token from a configured variable', async () => {
    const w = world();
    const t = await token(w);
    const verify = w.step({ operation: 'VerifyAccessToken', accessToken: { ref: 'request.header.x-token' } });
    expect(await verify(w.ctx({ headers: { 'x-token': t } }))).toBeUndefined();
    const f = await faultOf(verify(w.ctx({})));
    expect([f.status, f.errorCode]).toEqual([500, 'steps.oauth.v2.FailedToResolveAccessToken']);
  });

  it('says expired for an expired token', async () => {
    const w = world();
    const t = await token(w, { expiresIn: 1000 });
    w.clock.advance(1000);
    const f = await faultOf(w.step({ operation: 'VerifyAccessToken' })(w.bearer(t)));
    expect([f.status, f.errorCode]).toEqual([401, 'keymanagement.service.access_token_expired']);
  });

  it('checks scopes any-of, as Apigee does', async () => {
    const w = world();
    const t = await token(w, {}, 'read');
    expect(await w.step({ operation: 'VerifyAccessToken', scope: 'write read' })(w.bearer(t))).toBeUndefined();
    const f = await faultOf(w.step({ operation: 'VerifyAccessToken', scope: 'write admin' })(w.bearer(t)));
    expect([f.status, f.errorCode]).toEqual([403, 'steps.oauth.v2.insufficient_scope']);
  });

  it('refuses a token whose products do not cover the proxy', async () => {
    const w = world();
    const t = await token(w);
    const f = await faultOf(
      w.step({ operation: 'VerifyAccessToken' })(
        w.bearer(t, { proxy: { namespace: 'shop', name: 'inventory', route: 'shop/inventory', basePath: '/' } }),
      ),
    );
    expect([f.status, f.errorCode]).toEqual([401, 'keymanagement.service.InvalidAPICallAsNoApiProductMatchFound']);
  });

  it('does not know a token of namespace shop on a proxy of namespace other (tenancy)', async () => {
    const w = world();
    const t = await token(w);
    const f = await faultOf(
      w.step({ operation: 'VerifyAccessToken' })(
        w.bearer(t, { proxy: { namespace: 'other', name: 'orders', route: 'other/orders', basePath: '/orders/v1' } }),
      ),
    );
    expect(f.errorCode).toBe('keymanagement.service.invalid_access_token');
  });

  it('refuses a token once its app is revoked in the snapshot', async () => {
    const w = world();
    const t = await token(w);
    // The same store under a new snapshot in which the app is revoked.
    const f = await faultOf(
      w.step({ operation: 'VerifyAccessToken' })(
        makePolicyContext({
          proxy: { namespace: 'shop', name: 'orders', route: 'shop/orders', basePath: '/orders/v1' },
          path: '/orders/v1/orders',
          headers: { authorization: `Bearer ${t}` },
          snapshot: { ...baseSnapshot, apps: [app({ status: 'Revoked' })] },
          stores: w.stores,
          now: w.clock.now,
        }),
      ),
    );
    expect(f.errorCode).toBe('keymanagement.service.invalid_client-app_not_approved');
  });

  it('answers 503 when the token store is down (fails closed)', async () => {
    const w = world();
    const down = () => Promise.reject(new StoreUnavailableError('down'));
    const stores = { ...w.stores, tokens: { get: down, put: down, take: down, delete: down, setFlag: down } };
    const f = await faultOf(w.step({ operation: 'VerifyAccessToken' })(w.bearer('abc', { stores })));
    expect([f.status, f.errorCode]).toEqual([503, 'gatehouse.StoreUnavailable']);
  });
});

describe('OAuthV2 authorization code, refresh, invalidate', () => {
  const codeStep = (w: ReturnType<typeof world>) =>
    w.step({ operation: 'GenerateAuthorizationCode', generateResponse: true });

  async function authorize(w: ReturnType<typeof world>, query: string) {
    const result = await codeStep(w)(w.ctx({ path: `/orders/v1/authorize?${query}` }));
    if (!result) throw new Error('expected a redirect');
    expect(result.respond.status).toBe(302);
    return new URL(result.respond.headers.location!);
  }

  it('issues a code by 302 to the callback, redeems it once, and a replay revokes what it issued', async () => {
    const w = world();
    const location = await authorize(
      w,
      'response_type=code&client_id=client-a&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=xyz&scope=read',
    );
    expect(location.origin + location.pathname).toBe('https://app.example.com/cb');
    expect(location.searchParams.get('state')).toBe('xyz');
    const code = location.searchParams.get('code')!;
    const gen = w.step({ operation: 'GenerateAccessToken', supportedGrantTypes: ALL_GRANTS, generateResponse: true });
    const redeem = (id = 'client-a', secret = 'secret-a') =>
      gen(
        w.tokenRequest(
          { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example.com/cb' },
          { authorization: basic(id, secret) },
        ),
      );
    const body = bodyOf(await redeem());
    expect(body.scope).toBe('read');
    expect(body.refresh_token).toBeTruthy();
    const verify = w.step({ operation: 'VerifyAccessToken' });
    expect(await verify(w.bearer(body.access_token as string))).toBeUndefined();
    const replay = await faultOf(redeem());
    expect([replay.status, replay.errorCode]).toEqual([400, 'oauth.v2.invalid_grant']);
    expect(JSON.parse(replay.body!.content)).toEqual({
      ErrorCode: 'invalid_request',
      Error: 'Invalid Authorization Code',
    });
    expect((await faultOf(verify(w.bearer(body.access_token as string)))).errorCode).toBe(
      'keymanagement.service.invalid_access_token',
    );
  });

  it('refuses a code of app A redeemed by app B, and the code is gone afterwards', async () => {
    const w = world();
    const code = (await authorize(w, 'response_type=code&client_id=client-a')).searchParams.get('code')!;
    const gen = w.step({ operation: 'GenerateAccessToken', supportedGrantTypes: ALL_GRANTS, generateResponse: true });
    const byB = await faultOf(
      gen(w.tokenRequest({ grant_type: 'authorization_code', code }, { authorization: basic('client-b', 'secret-b') })),
    );
    expect(byB.errorCode).toBe('oauth.v2.invalid_grant');
    const byA = await faultOf(
      gen(w.tokenRequest({ grant_type: 'authorization_code', code }, { authorization: basic('client-a', 'secret-a') })),
    );
    expect(byA.errorCode).toBe('oauth.v2.invalid_grant');
  });

  it('refuses a redirect_uri other than the callback, at authorization and at redemption', async () => {
    const w = world();
    const f = await faultOf(
      codeStep(w)(
        w.ctx({
          path: '/orders/v1/authorize?response_type=code&client_id=client-a&redirect_uri=https://evil.example/cb',
        }),
      ),
    );
    expect([f.status, f.errorCode]).toEqual([400, 'oauth.v2.invalid_request']);
    const t = await faultOf(
      codeStep(w)(w.ctx({ path: '/orders/v1/authorize?response_type=token&client_id=client-a' })),
    );
    expect(t.errorCode).toBe('oauth.v2.unsupported_response_type');
    const code = (
      await authorize(w, 'response_type=code&client_id=client-a&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb')
    ).searchParams.get('code')!;
    const gen = w.step({ operation: 'GenerateAccessToken', supportedGrantTypes: ALL_GRANTS, generateResponse: true });
    const r = await faultOf(
      gen(
        w.tokenRequest(
          { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example.com/other' },
          { authorization: basic('client-a', 'secret-a') },
        ),
      ),
    );
    expect(r.errorCode).toBe('oauth.v2.invalid_request');
  });

  it('rotates refresh tokens: the old one stops working; ReuseRefreshToken keeps it', async () => {
    const w = world();
    const gen = w.step({ operation: 'GenerateAccessToken', supportedGrantTypes: ALL_GRANTS, generateResponse: true });
    const auth = { authorization: basic('client-a', 'secret-a') };
    const first = bodyOf(await gen(w.tokenRequest({ grant_type: 'password', username: 'u', password: 'p' }, auth)));
    const refresh = w.step({ operation: 'RefreshAccessToken', generateResponse: true });
    const second = bodyOf(
      await refresh(
        w.tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token as string }, auth),
      ),
    );
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.refresh_count).toBe('1');
    const again = await faultOf(
      refresh(w.tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token as string }, auth)),
    );
    expect(again.errorCode).toBe('oauth.v2.invalid_grant');
    const verify = w.step({ operation: 'VerifyAccessToken' });
    // The access token the old refresh token was paired with is gone too.
    expect((await faultOf(verify(w.bearer(first.access_token as string)))).errorCode).toBe(
      'keymanagement.service.invalid_access_token',
    );
    expect(await verify(w.bearer(second.access_token as string))).toBeUndefined();
    const reuse = w.step({ operation: 'RefreshAccessToken', generateResponse: true, reuseRefreshToken: true });
    const third = bodyOf(
      await reuse(w.tokenRequest({ grant_type: 'refresh_token', refresh_token: second.refresh_token as string }, auth)),
    );
    expect(third.refresh_token).toBe(second.refresh_token);
    const byB = await faultOf(
      reuse(
        w.tokenRequest(
          { grant_type: 'refresh_token', refresh_token: second.refresh_token as string },
          { authorization: basic('client-b', 'secret-b') },
        ),
      ),
    );
    expect(byB.errorCode).toBe('oauth.v2.invalid_grant');
  });

  it('InvalidateToken revokes with cascade and ValidateToken approves again', async () => {
    const w = world();
    const gen = w.step({ operation: 'GenerateAccessToken', supportedGrantTypes: ALL_GRANTS, generateResponse: true });
    const auth = { authorization: basic('client-a', 'secret-a') };
    const t = bodyOf(await gen(w.tokenRequest({ grant_type: 'password', username: 'u', password: 'p' }, auth)));
    const tokens = [{ type: 'accesstoken' as const, value: { ref: 'request.header.x-token' } }];
    const verify = w.step({ operation: 'VerifyAccessToken' });
    await w.step({ operation: 'InvalidateToken', tokens })(w.ctx({ headers: { 'x-token': t.access_token as string } }));
    expect((await faultOf(verify(w.bearer(t.access_token as string)))).errorCode).toBe(
      'keymanagement.service.access_token_not_approved',
    );
    const refresh = w.step({ operation: 'RefreshAccessToken', generateResponse: true });
    const f = await faultOf(
      refresh(w.tokenRequest({ grant_type: 'refresh_token', refresh_token: t.refresh_token as string }, auth)),
    );
    expect(f.errorCode).toBe('oauth.v2.invalid_grant');
    await w.step({ operation: 'ValidateToken', tokens })(w.ctx({ headers: { 'x-token': t.access_token as string } }));
    expect(await verify(w.bearer(t.access_token as string))).toBeUndefined();
  });
});

describe('OAuthV2 processing mode', () => {
  it('asks Envoy for the request body on token endpoints only', async () => {
    const { oauthV2 } = await import('../../../../protos/policies/security/oauth-v2.ts');
    expect(oauthV2.needsBody({ operation: 'GenerateAccessToken' }, 'request')).toBe(true);
    expect(oauthV2.needsBody({ operation: 'RefreshAccessToken' }, 'request')).toBe(true);
    expect(oauthV2.needsBody({ operation: 'VerifyAccessToken' }, 'request')).toBe(false);
    expect(oauthV2.needsBody({ operation: 'GenerateAccessToken' }, 'response')).toBe(false);
  });

  it('refuses literal credentials and tokens in the config', async () => {
    const { oauthV2 } = await import('../../../../protos/policies/security/oauth-v2.ts');
    const problems = oauthV2.validate!({
      operation: 'InvalidateToken',
      tokens: [{ type: 'accesstoken', value: 'literal' }],
      password: 'pw',
    });
    expect(problems.map((p) => p.path)).toEqual(['password', 'tokens[0].value']);
  });
});
