import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RuntimeSnapshotInput } from '../../config/decode.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makeClock, makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { createMemoryStores } from '../../stores/memory.ts';
import { deleteOAuthV2InfoPolicy } from './delete-oauth-v2-info.ts';
import { getOAuthV2InfoPolicy } from './get-oauth-v2-info.ts';
import { oauthV2Policy } from './oauth-v2.ts';
import { setOAuthV2InfoPolicy } from './set-oauth-v2-info.ts';

const HASH_KEY = '00112233445566778899aabbccddeeff';
const hash = (v: string) => createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(v).digest('hex');
const snapshot: RuntimeSnapshotInput = {
  credentialHashKey: HASH_KEY,
  products: [{ namespace: 'shop', name: 'p', proxies: ['orders'], resources: ['/**'], scopes: ['read'] }],
  apps: [
    {
      namespace: 'shop',
      name: 'mobile',
      developerEmail: 'dev@example.com',
      status: 'Approved',
      callbackUrl: 'https://app.example.com/cb',
      attributes: { team: 'blue' },
      products: [{ name: 'p', status: 'Approved' }],
      credentials: [{ keyHash: hash('client-a'), secretHash: hash('secret-a'), status: 'Approved' }],
    },
  ],
};

function world() {
  const clock = makeClock(Date.UTC(2026, 0, 1));
  const stores = createMemoryStores(clock.now);
  const ctx = (opts: PolicyContextOptions = {}) =>
    makePolicyContext({
      proxy: { namespace: 'shop', name: 'orders', route: 'shop/orders', basePath: '/orders/v1' },
      path: '/orders/v1/x',
      snapshot,
      stores,
      now: clock.now,
      ...opts,
    });
  return { clock, ctx };
}

async function issue(w: ReturnType<typeof world>): Promise<{ access: string; refresh: string }> {
  const gen = oauthV2Policy.create(
    {
      operation: 'GenerateAccessToken',
      supportedGrantTypes: ['password'],
      generateResponse: true,
      attributes: [{ name: 'tier', value: 'gold' }],
    },
    { namespace: 'shop', name: 'gen' },
  );
  const result = await gen(
    w.ctx({
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      headers: { authorization: `Basic ${Buffer.from('client-a:secret-a').toString('base64')}` },
      body: 'grant_type=password&username=u&password=p',
    }),
  );
  const body = JSON.parse(result!.respond.body) as { access_token: string; refresh_token: string };
  return { access: body.access_token, refresh: body.refresh_token };
}

async function faultOf(p: unknown): Promise<PolicyFault> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PolicyFault) return err;
    throw err;
  }
  throw new Error('expected a fault');
}

const meta = (name: string) => ({ namespace: 'shop', name });
const fromHeader = { ref: 'request.header.x-token' };

describe('GetOAuthV2Info, SetOAuthV2Info, DeleteOAuthV2Info', () => {
  it('gets an access token profile, a refresh token profile and a client', async () => {
    const w = world();
    const { access, refresh } = await issue(w);
    const ctx = w.ctx({ headers: { 'x-token': access } });
    await getOAuthV2InfoPolicy.create({ accessToken: fromHeader }, meta('info'))(ctx);
    expect(ctx.variables.get('oauthv2accesstoken.info.client_id')).toBe('client-a');
    expect(ctx.variables.get('oauthv2accesstoken.info.status')).toBe('approved');
    expect(ctx.variables.get('oauthv2accesstoken.info.accesstoken.tier')).toBe('gold');
    expect(ctx.variables.get('oauthv2accesstoken.info.expires_in')).toBe('1800');
    const r = w.ctx({ headers: { 'x-token': refresh } });
    await getOAuthV2InfoPolicy.create({ refreshToken: fromHeader }, meta('info'))(r);
    expect(r.variables.get('oauthv2refreshtoken.info.refresh_token')).toBe(refresh);
    const c = w.ctx({ headers: { 'x-token': 'client-a' } });
    await getOAuthV2InfoPolicy.create({ clientId: fromHeader }, meta('info'))(c);
    expect(c.variables.get('oauthv2client.info.developer.app.name')).toBe('mobile');
    expect(c.variables.get('oauthv2client.info.redirection_uris')).toBe('https://app.example.com/cb');
    expect(c.variables.get('oauthv2client.info.team')).toBe('blue');
  });

  it('faults with Apigee codes for unknown and expired tokens and an unknown client', async () => {
    const w = world();
    const { access } = await issue(w);
    const get = getOAuthV2InfoPolicy.create({ accessToken: fromHeader }, meta('info'));
    const unknown = await faultOf(get(w.ctx({ headers: { 'x-token': 'nope' } })));
    expect([unknown.status, unknown.errorCode]).toEqual([500, 'steps.oauth.v2.invalid_access_token']);
    w.clock.advance(1_800_000);
    const expired = await faultOf(get(w.ctx({ headers: { 'x-token': access } })));
    expect(expired.errorCode).toBe('steps.oauth.v2.access_token_expired');
    const client = await faultOf(
      getOAuthV2InfoPolicy.create({ clientId: fromHeader }, meta('info'))(w.ctx({ headers: { 'x-token': 'who' } })),
    );
    expect(client.errorCode).toBe('steps.oauth.v2.invalid_client-invalid_client_id');
    const missing = await faultOf(get(w.ctx()));
    expect(missing.errorCode).toBe('steps.oauth.v2.TokenValueRequired');
  });

  it('sets attributes that VerifyAccessToken then reports', async () => {
    const w = world();
    const { access } = await issue(w);
    await setOAuthV2InfoPolicy.create(
      {
        accessToken: fromHeader,
        attributes: [
          { name: 'tier', value: 'platinum' },
          { name: 'region', value: 'eu' },
        ],
      },
      meta('set'),
    )(w.ctx({ headers: { 'x-token': access } }));
    const v = w.ctx({ headers: { authorization: `Bearer ${access}` } });
    await oauthV2Policy.create({ operation: 'VerifyAccessToken' }, meta('verify'))(v);
    expect(v.variables.get('accesstoken.tier')).toBe('platinum');
    expect(v.variables.get('accesstoken.region')).toBe('eu');
  });

  it('deletes an access token; a second delete is 401', async () => {
    const w = world();
    const { access } = await issue(w);
    const del = deleteOAuthV2InfoPolicy.create({ accessToken: fromHeader }, meta('del'));
    await del(w.ctx({ headers: { 'x-token': access } }));
    const again = await faultOf(del(w.ctx({ headers: { 'x-token': access } })));
    expect([again.status, again.errorCode]).toEqual([401, 'steps.oauth.v2.invalid_access_token']);
    const verify = await faultOf(
      oauthV2Policy.create(
        { operation: 'VerifyAccessToken' },
        meta('verify'),
      )(w.ctx({ headers: { authorization: `Bearer ${access}` } })),
    );
    expect(verify.errorCode).toBe('keymanagement.service.invalid_access_token');
  });

  it('refuses literal tokens and ambiguous configs', () => {
    expect(() => getOAuthV2InfoPolicy.create({ accessToken: 'literal' }, meta('x'))).toThrow(/in clear/);
    expect(() => getOAuthV2InfoPolicy.create({ accessToken: fromHeader, clientId: fromHeader }, meta('x'))).toThrow(
      /exactly one/,
    );
  });
});
