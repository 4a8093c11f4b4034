import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RuntimeSnapshotInput } from '../../config/decode.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { Product } from '../../../../protos/gen/gatehouse/v1/Product.ts';
import type { App } from '../../../../protos/gen/gatehouse/v1/App.ts';
import type { Developer } from '../../../../protos/gen/gatehouse/v1/Developer.ts';
import { verifyApiKeyPolicy } from './verify-api-key.ts';

const HASH_KEY = '00112233445566778899aabbccddeeff';
const NOW = Date.UTC(2026, 0, 1);
const hash = (key: string) => createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(key).digest('hex');

const product = (over: Partial<Product> = {}): Product => ({
  namespace: 'shop',
  name: 'orders-basic',
  proxies: ['orders'],
  resources: ['/**'],
  approval: 'Auto',
  quota: { limit: 1000, interval: 1, timeUnit: 'hour' },
  attributes: { tier: 'gold' },
  ...over,
});

const app = (over: Partial<App> = {}): App => ({
  namespace: 'shop',
  name: 'mobile',
  developerEmail: 'dev@example.com',
  status: 'Approved',
  products: [{ name: 'orders-basic', status: 'Approved' }],
  credentials: [{ keyHash: hash('k-123'), status: 'Approved' }],
  ...over,
});

const developer = (over: Partial<Developer> = {}): Developer => ({
  namespace: 'shop',
  name: 'ada',
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  userName: 'ada',
  status: 'active',
  attributes: { region: 'emea' },
  ...over,
});

function snapshot(
  products: Product[] = [product()],
  apps: App[] = [app()],
  developers: Developer[] = [],
): RuntimeSnapshotInput {
  return { credentialHashKey: HASH_KEY, products, apps, developers };
}

const step = verifyApiKeyPolicy.create(
  { apiKey: { ref: 'request.header.x-api-key' } },
  { namespace: 'shop', name: 'verify-key' },
);

function run(opts: PolicyContextOptions & { key?: string }) {
  const ctx = makePolicyContext({
    proxy: { namespace: 'shop', name: 'orders', route: 'shop/orders', basePath: '/orders/v1' },
    path: '/orders/v1/orders',
    now: NOW,
    snapshot: snapshot(),
    headers: opts.key === undefined ? {} : { 'x-api-key': opts.key },
    ...opts,
  });
  return { ctx, result: () => step(ctx) };
}

function faultOf(fn: () => unknown): PolicyFault {
  try {
    fn();
  } catch (error) {
    if (error instanceof PolicyFault) return error;
    throw error;
  }
  throw new Error('expected a PolicyFault');
}

describe('VerifyAPIKey', () => {
  it('accepts a valid key and sets the app, product and quota variables', () => {
    const { ctx, result } = run({ key: 'k-123' });
    expect(result()).toBeUndefined();
    const v = (name: string) => ctx.variables.get(name);
    expect(v('client_id')).toBe('k-123');
    expect(v('developer.app.name')).toBe('mobile');
    expect(v('developer.email')).toBe('dev@example.com');
    expect(v('apiproduct.name')).toBe('orders-basic');
    expect(v('apiproduct.tier')).toBe('gold');
    expect(v('apiproduct.developer.quota.limit')).toBe('1000');
    expect(v('apiproduct.developer.quota.interval')).toBe('1');
    expect(v('apiproduct.developer.quota.timeunit')).toBe('hour');
    expect(v('verifyapikey.verify-key.developer.app.name')).toBe('mobile');
    expect(v('verifyapikey.verify-key.failed')).toBe(false);
  });

  it('refuses a literal key: it would be a consumer key in clear in the snapshot', () => {
    expect(() => verifyApiKeyPolicy.create({ apiKey: 'k-123' }, { namespace: 'shop', name: 'v' })).toThrow(
      /verifyAPIKey\.apiKey: a literal API key would stand in the snapshot in clear/,
    );
  });

  it.each([
    ['a missing key', {}, 'oauth.v2.FailedToResolveAPIKey'],
    ['an unknown key', { key: 'nope' }, 'oauth.v2.InvalidApiKey'],
    [
      'a revoked credential',
      {
        key: 'k-123',
        snapshot: snapshot([product()], [app({ credentials: [{ keyHash: hash('k-123'), status: 'Revoked' }] })]),
      },
      'oauth.v2.ApiKeyNotApproved',
    ],
    [
      'a revoked app',
      { key: 'k-123', snapshot: snapshot([product()], [app({ status: 'Revoked' })]) },
      'keymanagement.service.invalid_client-app_not_approved',
    ],
    [
      'an expired credential',
      {
        key: 'k-123',
        snapshot: snapshot(
          [product()],
          [app({ credentials: [{ keyHash: hash('k-123'), status: 'Approved', expiresAt: NOW - 1 }] })],
        ),
      },
      'keymanagement.service.consumer_key_expired',
    ],
    [
      'a pending product',
      {
        key: 'k-123',
        snapshot: snapshot([product()], [app({ products: [{ name: 'orders-basic', status: 'Pending' }] })]),
      },
      'oauth.v2.InvalidApiKeyForGivenResource',
    ],
    [
      'an inactive developer',
      {
        key: 'k-123',
        snapshot: snapshot([product()], [app({ developerRef: 'ada' })], [developer({ status: 'inactive' })]),
      },
      'keymanagement.service.DeveloperStatusNotActive',
    ],
    [
      'a developer that is not in the snapshot (deleted, or not applied yet)',
      { key: 'k-123', snapshot: snapshot([product()], [app({ developerRef: 'ada' })], []) },
      'keymanagement.service.DeveloperStatusNotActive',
    ],
    [
      "a developer of the same name in another namespace (never this app's)",
      {
        key: 'k-123',
        snapshot: snapshot([product()], [app({ developerRef: 'ada' })], [developer({ namespace: 'other' })]),
      },
      'keymanagement.service.DeveloperStatusNotActive',
    ],
    [
      'a revoked product subscription',
      {
        key: 'k-123',
        snapshot: snapshot([product()], [app({ products: [{ name: 'orders-basic', status: 'Revoked' }] })]),
      },
      'oauth.v2.InvalidApiKeyForGivenResource',
    ],
    [
      'a product for another proxy',
      { key: 'k-123', snapshot: snapshot([product({ proxies: ['users'] })]) },
      'oauth.v2.InvalidApiKeyForGivenResource',
    ],
    [
      'a product without this method',
      { key: 'k-123', method: 'DELETE', snapshot: snapshot([product({ methods: ['GET', 'POST'] })]) },
      'oauth.v2.InvalidApiKeyForGivenResource',
    ],
    [
      'a product not covering the path',
      { key: 'k-123', snapshot: snapshot([product({ resources: ['/users/**'] })]) },
      'oauth.v2.InvalidApiKeyForGivenResource',
    ],
  ] as const)('rejects %s with 401', (_name, opts, code) => {
    const { ctx, result } = run(opts);
    const fault = faultOf(result);
    expect(fault.status).toBe(401);
    expect(fault.errorCode).toBe(code);
    expect(fault.message).not.toContain('k-123');
    expect(ctx.variables.get('verifyapikey.verify-key.failed')).toBe(true);
    expect(ctx.variables.get('developer.app.name')).toBeUndefined();
  });

  it('checks in the order Apigee does: the key, then the app, then the developer, then the products', () => {
    const revokedEverything = snapshot(
      [product()],
      [
        app({
          developerRef: 'ada',
          status: 'Revoked',
          products: [{ name: 'orders-basic', status: 'Pending' }],
          credentials: [{ keyHash: hash('k-123'), status: 'Revoked' }],
        }),
      ],
      [developer({ status: 'inactive' })],
    );
    expect(faultOf(run({ key: 'k-123', snapshot: revokedEverything }).result).errorCode).toBe(
      'oauth.v2.ApiKeyNotApproved',
    );
    const appAndDeveloper = snapshot(
      [product()],
      [app({ developerRef: 'ada', status: 'Revoked' })],
      [developer({ status: 'inactive' })],
    );
    expect(faultOf(run({ key: 'k-123', snapshot: appAndDeveloper }).result).errorCode).toBe(
      'keymanagement.service.invalid_client-app_not_approved',
    );
  });

  it("sets the developer, app and credential variables of a Developer's app, and the key's scopes", () => {
    const products = [
      product({ scopes: ['orders.read', 'orders.write'] }),
      product({ name: 'pending', scopes: ['admin'] }),
      product({ name: 'extra', proxies: ['users'], scopes: ['users.read', 'orders.read'] }),
    ];
    const a = app({
      developerRef: 'ada',
      developerEmail: 'ada@example.com',
      developerName: 'Ada Lovelace',
      callbackUrl: 'https://app.example.com/cb',
      attributes: { team: 'mobile' },
      products: [
        { name: 'orders-basic', status: 'Approved' },
        { name: 'pending', status: 'Pending' },
        { name: 'extra', status: 'Approved' },
      ],
      credentials: [{ keyHash: hash('k-123'), secretHash: hash('s-456'), status: 'Approved', expiresAt: NOW + 5000 }],
    });
    const { ctx, result } = run({ key: 'k-123', snapshot: snapshot(products, [a], [developer()]) });
    expect(result()).toBeUndefined();
    const v = (name: string) => ctx.variables.get(`verifyapikey.verify-key.${name}`);
    expect(v('client_id')).toBe('k-123');
    expect(v('client_secret')).toBeUndefined();
    expect(v('status')).toBe('approved');
    expect(v('expires_at')).toBe(String(NOW + 5000));
    expect(v('redirection_uris')).toBe('https://app.example.com/cb');
    expect(v('developer.id')).toBe('ada');
    expect(v('developer.email')).toBe('ada@example.com');
    expect(v('developer.firstName')).toBe('Ada');
    expect(v('developer.lastName')).toBe('Lovelace');
    expect(v('developer.userName')).toBe('ada');
    expect(v('developer.status')).toBe('active');
    expect(v('developer.region')).toBe('emea');
    expect(v('developer.app.id')).toBe('mobile');
    expect(v('app.name')).toBe('mobile');
    expect(v('app.status')).toBe('approved');
    expect(v('app.callbackUrl')).toBe('https://app.example.com/cb');
    expect(v('app.apiproducts')).toBe('orders-basic,extra');
    expect(v('app.team')).toBe('mobile');
    expect(v('apiproduct.name')).toBe('orders-basic');
    // Scopes of every approved product of the key, not only the one that matched; pending ones give none.
    expect(v('scope')).toBe('orders.read orders.write users.read');
    expect(ctx.variables.get('developer.email')).toBe('ada@example.com');
    expect(ctx.variables.get('scope')).toBeUndefined();
    expect(ctx.runtime.credentialScopes(ctx.runtime.app('shop', 'mobile')!)).toEqual([
      'orders.read',
      'orders.write',
      'users.read',
    ]);
  });

  it('an attribute never overrides a variable the policy sets itself', () => {
    const a = app({ attributes: { name: 'spoofed' }, developerRef: 'ada' });
    const { ctx, result } = run({
      key: 'k-123',
      snapshot: snapshot(
        [product({ attributes: { name: 'spoofed' } })],
        [a],
        [developer({ attributes: { email: 'x@evil' } })],
      ),
    });
    expect(result()).toBeUndefined();
    expect(ctx.variables.get('app.name')).toBe('mobile');
    expect(ctx.variables.get('apiproduct.name')).toBe('orders-basic');
    expect(ctx.variables.get('developer.email')).toBe('dev@example.com');
  });

  it('an inline developer (no Developer object) is active, as before the Developer kind', () => {
    const { ctx, result } = run({ key: 'k-123' });
    expect(result()).toBeUndefined();
    expect(ctx.variables.get('verifyapikey.verify-key.developer.status')).toBe('active');
    expect(ctx.variables.get('verifyapikey.verify-key.developer.id')).toBe('');
    expect(ctx.variables.get('verifyapikey.verify-key.expires_at')).toBe('-1');
  });

  it('accepts an unexpired credential', () => {
    const s = snapshot(
      [product()],
      [app({ credentials: [{ keyHash: hash('k-123'), status: 'Approved', expiresAt: NOW + 1000 }] })],
    );
    expect(run({ key: 'k-123', snapshot: s }).result()).toBeUndefined();
  });

  it.each([
    ['/', '/orders/v1', true],
    ['/', '/orders/v1/', true],
    ['/', '/orders/v1/orders', false],
    ['/*', '/orders/v1/orders', true],
    ['/*', '/orders/v1/orders/1', false],
    ['/**', '/orders/v1', true],
    ['/**', '/orders/v1/a/b/c', true],
    ['/orders', '/orders/v1/orders', true],
    ['/orders', '/orders/v1/orders/1', false],
    ['/orders/*/items', '/orders/v1/orders/7/items', true],
    ['/orders/*/items', '/orders/v1/orders/7/8/items', false],
    ['/orders/**', '/orders/v1/orders/7/items', true],
    ['/orders/**', '/orders/v1/users', false],
  ])('resource %s covers %s: %s', (resource, path, covered) => {
    const { result } = run({ key: 'k-123', path, snapshot: snapshot([product({ resources: [resource] })]) });
    if (covered) expect(result()).toBeUndefined();
    else expect(faultOf(result).errorCode).toBe('oauth.v2.InvalidApiKeyForGivenResource');
  });

  it('picks the first approved product that covers the request', () => {
    const products = [product({ name: 'admin', resources: ['/admin/**'] }), product({ name: 'orders-basic' })];
    const a = app({
      products: [
        { name: 'admin', status: 'Approved' },
        { name: 'orders-basic', status: 'Approved' },
      ],
    });
    const { ctx, result } = run({ key: 'k-123', snapshot: snapshot(products, [a]) });
    expect(result()).toBeUndefined();
    expect(ctx.variables.get('apiproduct.name')).toBe('orders-basic');
  });

  // The variables of an (app, product) pair are built once per snapshot and policy name and then
  // reused (docs/architecture.md#the-policies-per-request-work-issue-20): these pin that no request
  // ever sees another app's, another policy's or an older snapshot's values, nor the key of another.
  describe('variables reused within a snapshot', () => {
    const twoApps = snapshot(
      [product()],
      [
        app(),
        app({
          name: 'web',
          developerEmail: 'web@example.com',
          attributes: { channel: 'browser' },
          credentials: [{ keyHash: hash('k-456'), status: 'Approved' }],
        }),
      ],
    );
    /** A request through `policy` with `key`, under the runtime of `under` (the same snapshot) when given. */
    function request(key: string, options: { under?: ReturnType<typeof run>['ctx']; snap?: RuntimeSnapshotInput }) {
      const { ctx } = run({ key, snapshot: options.snap ?? twoApps });
      return options.under ? { ...ctx, runtime: options.under.runtime } : ctx;
    }

    it("a second app's key under the same snapshot gets its own values and client_id, never the first's", () => {
      const first = request('k-123', {});
      expect(step(first)).toBeUndefined();
      const second = request('k-456', { under: first });
      expect(step(second)).toBeUndefined();
      const again = request('k-123', { under: first });
      expect(step(again)).toBeUndefined();
      expect(second.variables.get('client_id')).toBe('k-456');
      expect(second.variables.get('verifyapikey.verify-key.client_id')).toBe('k-456');
      expect(second.variables.get('developer.app.name')).toBe('web');
      expect(second.variables.get('app.channel')).toBe('browser');
      expect(second.variables.get('developer.email')).toBe('web@example.com');
      expect(again.variables.get('client_id')).toBe('k-123');
      expect(again.variables.get('developer.app.name')).toBe('mobile');
      expect(again.variables.get('app.channel')).toBeUndefined();
      // The same set of names, in the same order, as the first request's.
      expect(again.variables.namesUnder('verifyapikey')).toEqual(first.variables.namesUnder('verifyapikey'));
    });

    it("another policy name under the same snapshot sets its own prefix, not the first policy's", () => {
      const first = request('k-123', {});
      expect(step(first)).toBeUndefined();
      const other = verifyApiKeyPolicy.create(
        { apiKey: { ref: 'request.header.x-api-key' } },
        { namespace: 'shop', name: 'second-check' },
      );
      const ctx = request('k-123', { under: first });
      expect(other(ctx)).toBeUndefined();
      expect(ctx.variables.get('verifyapikey.second-check.developer.app.name')).toBe('mobile');
      expect(ctx.variables.get('verifyapikey.second-check.failed')).toBe(false);
      expect(ctx.variables.namesUnder('verifyapikey.verify-key')).toEqual([]);
    });

    it("a new snapshot's changed developer, product and app are seen at once; a revoked key is refused at once", () => {
      const before = snapshot([product()], [app({ developerRef: 'ada' })], [developer()]);
      const first = request('k-123', { snap: before });
      expect(step(first)).toBeUndefined();
      expect(step(request('k-123', { under: first, snap: before }))).toBeUndefined();
      expect(first.variables.get('developer.region')).toBe('emea');

      const changed = snapshot(
        [product({ attributes: { tier: 'silver' } })],
        [app({ developerRef: 'ada', attributes: { channel: 'kiosk' } })],
        [developer({ lastName: 'King', attributes: { region: 'apac' } })],
      );
      const after = request('k-123', { snap: changed });
      expect(step(after)).toBeUndefined();
      expect(after.variables.get('developer.lastName')).toBe('King');
      expect(after.variables.get('developer.region')).toBe('apac');
      expect(after.variables.get('apiproduct.tier')).toBe('silver');
      expect(after.variables.get('app.channel')).toBe('kiosk');

      const revoked = snapshot(
        [product()],
        [app({ developerRef: 'ada', credentials: [{ keyHash: hash('k-123'), status: 'Revoked' }] })],
        [developer()],
      );
      expect(faultOf(() => step(request('k-123', { snap: revoked }))).errorCode).toBe('oauth.v2.ApiKeyNotApproved');
      const inactive = snapshot([product()], [app({ developerRef: 'ada' })], [developer({ status: 'inactive' })]);
      expect(faultOf(() => step(request('k-123', { snap: inactive }))).errorCode).toBe(
        'keymanagement.service.DeveloperStatusNotActive',
      );
    });

    it("a policy's later write or remove in one request never reaches the next request of the pair", () => {
      const first = request('k-123', {});
      expect(step(first)).toBeUndefined();
      first.variables.set('developer.app.name', 'overridden');
      first.variables.set('verifyapikey.verify-key.app.channel', 'injected');
      first.variables.remove('apiproduct');
      expect(first.variables.get('developer.app.name')).toBe('overridden');
      expect(first.variables.get('apiproduct.tier')).toBeUndefined();
      const next = request('k-123', { under: first });
      expect(step(next)).toBeUndefined();
      expect(next.variables.get('developer.app.name')).toBe('mobile');
      expect(next.variables.get('apiproduct.tier')).toBe('gold');
      expect(next.variables.get('verifyapikey.verify-key.app.channel')).toBeUndefined();
    });

    it('two tenants with the same app, product and policy names each get their own values under one snapshot', () => {
      const both = snapshot(
        [product(), product({ namespace: 'rival', attributes: { tier: 'bronze' } })],
        [
          app(),
          app({
            namespace: 'rival',
            developerEmail: 'rival@example.com',
            credentials: [{ keyHash: hash('k-rival'), status: 'Approved' }],
          }),
        ],
      );
      const ours = request('k-123', { snap: both });
      expect(step(ours)).toBeUndefined();
      const rivalStep = verifyApiKeyPolicy.create(
        { apiKey: { ref: 'request.header.x-api-key' } },
        { namespace: 'rival', name: 'verify-key' },
      );
      const { ctx } = run({
        key: 'k-rival',
        snapshot: both,
        proxy: { namespace: 'rival', name: 'orders', route: 'rival/orders', basePath: '/orders/v1' },
      });
      const rival = { ...ctx, runtime: ours.runtime };
      expect(rivalStep(rival)).toBeUndefined();
      expect(rival.variables.get('apiproduct.tier')).toBe('bronze');
      expect(rival.variables.get('developer.email')).toBe('rival@example.com');
      expect(rival.variables.get('client_id')).toBe('k-rival');
      const oursAgain = request('k-123', { under: ours, snap: both });
      expect(step(oursAgain)).toBeUndefined();
      expect(oursAgain.variables.get('apiproduct.tier')).toBe('gold');
      expect(oursAgain.variables.get('developer.email')).toBe('dev@example.com');
    });

    it("another tenant's key (its app in another namespace) is refused, after this tenant's was served", () => {
      const withOther = snapshot(
        [product(), product({ namespace: 'rival' })],
        [app(), app({ namespace: 'rival', credentials: [{ keyHash: hash('k-rival'), status: 'Approved' }] })],
      );
      const first = request('k-123', { snap: withOther });
      expect(step(first)).toBeUndefined();
      const rival = request('k-rival', { under: first, snap: withOther });
      expect(faultOf(() => step(rival)).errorCode).toBe('oauth.v2.InvalidApiKeyForGivenResource');
      expect(rival.variables.get('developer.app.name')).toBeUndefined();
      expect(rival.variables.get('client_id')).toBeUndefined();
    });
  });
});
