import { createHmac } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { App } from '../../../../protos/gen/gatehouse/v1/App.ts';
import type { Developer } from '../../../../protos/gen/gatehouse/v1/Developer.ts';
import type { Product } from '../../../../protos/gen/gatehouse/v1/Product.ts';
import type { AccessEntityConfig } from '../../../../protos/policies/mediation/access-entity.ts';
import type { RuntimeSnapshotInput } from '../../config/decode.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import { accessEntityPolicy } from './access-entity.ts';

const HASH_KEY = '00112233445566778899aabbccddeeff';
const hash = (v: string) => createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(v).digest('hex');

const products: Product[] = [
  {
    namespace: 'shop',
    name: 'gold',
    displayName: 'Gold',
    proxies: ['orders'],
    resources: ['/**'],
    approval: 'Manual',
    scopes: ['orders.read'],
    quota: { limit: 100, interval: 1, timeUnit: 'minute' },
    attributes: { tier: 'gold' },
  },
  { namespace: 'other', name: 'secret-product', proxies: ['x'], resources: ['/**'], approval: 'Auto' },
];
const developers: Developer[] = [
  {
    namespace: 'shop',
    name: 'ada',
    email: 'ada@example.com',
    firstName: 'Ada',
    lastName: 'Lovelace',
    userName: 'ada',
    status: 'active',
    attributes: { region: 'emea' },
  },
  { namespace: 'other', name: 'eve', email: 'eve@example.com', status: 'active' },
];
const apps: App[] = [
  {
    namespace: 'shop',
    name: 'ada-app',
    developerRef: 'ada',
    developerEmail: 'ada@example.com',
    developerName: 'Ada Lovelace',
    status: 'Approved',
    callbackUrl: 'https://ada.example.com/cb',
    attributes: { team: 'mobile' },
    products: [{ name: 'gold', status: 'Approved' }],
    credentials: [{ keyHash: hash('k-ada'), secretHash: hash('s-ada'), status: 'Approved' }],
  },
  {
    namespace: 'shop',
    name: 'inline-app',
    developerEmail: 'team@example.com',
    developerName: 'Team',
    status: 'Approved',
    products: [{ name: 'gold', status: 'Pending' }],
    credentials: [{ keyHash: hash('k-inline'), status: 'Approved' }],
  },
  {
    namespace: 'other',
    name: 'eve-app',
    developerRef: 'eve',
    developerEmail: 'eve@example.com',
    status: 'Approved',
    products: [{ name: 'secret-product', status: 'Approved' }],
    credentials: [{ keyHash: hash('k-eve'), status: 'Approved' }],
  },
];
const snapshot: RuntimeSnapshotInput = { credentialHashKey: HASH_KEY, products, apps, developers };

function run(config: AccessEntityConfig, opts: { query?: string; variables?: Record<string, unknown> } = {}) {
  const step = accessEntityPolicy.create(config, { namespace: 'shop', name: 'GetProfile' });
  const ctx = makePolicyContext({
    proxy: { namespace: 'shop', name: 'orders', route: 'shop/orders', basePath: '/orders' },
    path: '/orders',
    snapshot,
    ...opts,
  });
  expect(step(ctx)).toBeUndefined();
  return ctx.variables.get('AccessEntity.GetProfile') as string | undefined;
}

const parse = (xml: string | undefined) => new XMLParser({ ignoreAttributes: false }).parse(xml ?? '') as unknown;

describe('AccessEntity', () => {
  it("Apigee's example: the developer of the API key in the apikey query parameter, as XML", () => {
    const xml = run(
      {
        entityType: 'developer',
        entityIdentifier: { type: 'consumerkey', value: { ref: 'request.queryparam.apikey' } },
      },
      { query: 'apikey=k-ada' },
    );
    expect(parse(xml)).toEqual({
      Developer: {
        Apps: { App: 'ada-app' },
        Attributes: { Attribute: { Name: 'region', Value: 'emea' } },
        DeveloperId: 'ada',
        Email: 'ada@example.com',
        FirstName: 'Ada',
        LastName: 'Lovelace',
        Status: 'active',
        UserName: 'ada',
      },
    });
  });

  it('a developer by email as JSON, and an inline developer (no Developer object) by the key of its app', () => {
    const json = run({
      entityType: 'developer',
      entityIdentifier: { type: 'developeremail', value: 'ADA@example.com' },
      outputFormat: 'JSON',
    });
    expect(JSON.parse(json!)).toEqual({
      email: 'ada@example.com',
      developerId: 'ada',
      firstName: 'Ada',
      lastName: 'Lovelace',
      userName: 'ada',
      status: 'active',
      apps: ['ada-app'],
      attributes: [{ name: 'region', value: 'emea' }],
    });
    const inline = run(
      {
        entityType: 'developer',
        entityIdentifier: { type: 'consumerkey', value: { ref: 'key' } },
        outputFormat: 'JSON',
      },
      { variables: { key: 'k-inline' } },
    );
    expect(JSON.parse(inline!)).toMatchObject({ email: 'team@example.com', developerId: '', status: 'active' });
  });

  it('an app by name and its developer, with its credentials but never a key or a secret', () => {
    const config: AccessEntityConfig = {
      entityType: 'app',
      entityIdentifier: { type: 'appname', value: 'ada-app' },
      secondaryIdentifier: { type: 'developeremail', value: { ref: 'dev' } },
    };
    const xml = run(config, { variables: { dev: 'ada@example.com' } });
    expect(parse(xml)).toEqual({
      App: {
        AppId: 'ada-app',
        Attributes: { Attribute: { Name: 'team', Value: 'mobile' } },
        CallbackUrl: 'https://ada.example.com/cb',
        Credentials: {
          Credential: {
            ApiProducts: { ApiProduct: { Name: 'gold', Status: 'approved' } },
            ExpiresAt: -1,
            Scopes: { Scope: 'orders.read' },
            Status: 'approved',
          },
        },
        DeveloperId: 'ada',
        Name: 'ada-app',
        Status: 'approved',
      },
    });
    for (const secret of ['k-ada', 's-ada', hash('k-ada'), hash('s-ada')]) expect(xml).not.toContain(secret);
    // The app of another developer is not found.
    expect(run(config, { variables: { dev: 'eve@example.com' } })).toBeUndefined();
  });

  it('an API product by name, and the product of a consumer key, with quota and approval type', () => {
    const byName = run({ entityType: 'apiproduct', entityIdentifier: { type: 'apiproductname', value: 'gold' } });
    expect(parse(byName)).toEqual({
      ApiProduct: {
        '@_name': 'gold',
        ApiResources: { ApiResource: '/**' },
        ApprovalType: 'manual',
        Attributes: { Attribute: { Name: 'tier', Value: 'gold' } },
        DisplayName: 'Gold',
        Name: 'gold',
        Proxies: { Proxy: 'orders' },
        Quota: 100,
        QuotaInterval: 1,
        QuotaTimeUnit: 'minute',
        Scopes: { Scope: 'orders.read' },
      },
    });
    const byKey = run(
      { entityType: 'apiproduct', entityIdentifier: { type: 'consumerkey', value: { ref: 'key' } } },
      { variables: { key: 'k-ada' } },
    );
    expect(byKey).toBe(byName);
    // inline-app's only subscription is Pending: it has no product to show.
    expect(
      run({ entityType: 'apiproduct', entityIdentifier: { type: 'appname', value: 'inline-app' } }, { variables: {} }),
    ).toBeUndefined();
  });

  it('a consumer key: its credential, without the key', () => {
    const json = run(
      {
        entityType: 'consumerkey',
        entityIdentifier: { type: 'consumerkey', value: { ref: 'key' } },
        outputFormat: 'JSON',
      },
      { variables: { key: 'k-ada' } },
    );
    expect(JSON.parse(json!)).toEqual({
      appId: 'ada-app',
      apiProducts: [{ apiproduct: 'gold', status: 'approved' }],
      expiresAt: -1,
      scopes: ['orders.read'],
      status: 'approved',
    });
    expect(json).not.toContain('k-ada');
  });

  it.each([
    ['a key of an app of another namespace', 'app', 'consumerkey', { ref: 'key' }],
    ['a developer of another namespace by key', 'developer', 'consumerkey', { ref: 'key' }],
    ['a developer of another namespace by id', 'developer', 'developerid', 'eve'],
    ['a developer of another namespace by email', 'developer', 'developeremail', 'eve@example.com'],
    ['an app of another namespace by name', 'app', 'appname', 'eve-app'],
    ['a product of another namespace', 'apiproduct', 'apiproductname', 'secret-product'],
    ['an unknown key', 'consumerkey', 'consumerkey', { ref: 'nothing' }],
    ['an unresolved identifier', 'app', 'appid', { ref: 'unset.variable' }],
  ] as const)('finds nothing for %s, and sets nothing', (_name, entityType, type, value) => {
    const config = { entityType, entityIdentifier: { type, value } } as AccessEntityConfig;
    expect(run(config, { variables: { key: 'k-eve', nothing: 'k-none' } })).toBeUndefined();
  });

  it('escapes what it writes into XML', () => {
    const hostile = { ...snapshot, apps: [{ ...apps[0]!, attributes: { note: '</Value><Status>revoked</Status>&' } }] };
    const step = accessEntityPolicy.create(
      { entityType: 'app', entityIdentifier: { type: 'appid', value: 'ada-app' } },
      { namespace: 'shop', name: 'GetProfile' },
    );
    const ctx = makePolicyContext({
      proxy: { namespace: 'shop', name: 'orders', route: 'shop/orders', basePath: '/orders' },
      snapshot: hostile,
    });
    expect(step(ctx)).toBeUndefined();
    const xml = ctx.variables.get('AccessEntity.GetProfile') as string;
    expect(xml).toContain('&lt;/Value&gt;&lt;Status&gt;revoked&lt;/Status&gt;&amp;');
    const parsed = parse(xml) as {
      App: { Status: string; Attributes: { Attribute: { Value: string } } };
    };
    expect(parsed.App.Status).toBe('approved');
    expect(parsed.App.Attributes.Attribute.Value).toBe('</Value><Status>revoked</Status>&');
  });

  it.each([
    [
      'an identifier the entity type does not take',
      { entityType: 'consumerkey', entityIdentifier: { type: 'appname', value: 'x' } },
      /entityIdentifier\.type: entityType consumerkey is identified by consumerkey, not appname/,
    ],
    [
      'a literal consumer key',
      { entityType: 'app', entityIdentifier: { type: 'consumerkey', value: 'k-ada' } },
      /entityIdentifier\.value: a literal consumer key would stand in the snapshot in clear/,
    ],
    [
      'a secondary identifier without appname',
      {
        entityType: 'app',
        entityIdentifier: { type: 'appid', value: 'x' },
        secondaryIdentifier: { type: 'developerid', value: 'ada' },
      },
      /secondaryIdentifier: only an appname entityIdentifier takes a secondaryIdentifier/,
    ],
  ])('refuses %s', (_name, config, message) => {
    expect(() => accessEntityPolicy.create(config as AccessEntityConfig, { namespace: 'shop', name: 'p' })).toThrow(
      message,
    );
  });
});
