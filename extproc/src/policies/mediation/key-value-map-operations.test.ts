import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KeyValueMap } from '../../../../protos/gen/gatehouse/v1/KeyValueMap.ts';
import type { KeyValueMapOperationsConfig } from '../../../../protos/policies/mediation/key-value-map-operations.ts';
import type { RefOr } from '../../../../protos/policies/schema.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { PrivateValue } from '../../flow/variables.ts';
import { createMemoryStores } from '../../stores/memory.ts';
import type { Stores } from '../../stores/types.ts';
import { PolicyConfigError } from '../support.ts';
import { keyValueMapOperationsPolicy } from './key-value-map-operations.ts';

const meta = { namespace: 'shop', name: 'kvm-step' };
const KEY = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

/** The shop namespace's KeyValueMaps, and another namespace's map of the same name. */
const maps: KeyValueMap[] = [
  {
    namespace: 'shop',
    name: 'settings',
    mapName: 'settings',
    scope: 'environment',
    environment: 'eu',
    entries: { timeout: { values: ['5000'] }, tier__gold: { values: ['10', '20'] } },
  },
  {
    namespace: 'other',
    name: 'settings',
    mapName: 'settings',
    scope: 'environment',
    environment: 'eu',
    entries: { timeout: { values: ['other-tenant'] } },
  },
  {
    namespace: 'shop',
    name: 'vault',
    mapName: 'vault',
    scope: 'organization',
    encrypted: true,
    secretEntries: { password: 'shop/upstream/password' },
  },
  {
    namespace: 'shop',
    name: 'per-proxy',
    mapName: 'routing',
    scope: 'apiproxy',
    proxy: 'orders',
    entries: { backend: { values: ['orders-v2'] } },
  },
];

function context(stores: Stores, options: PolicyContextOptions = {}) {
  return makePolicyContext({
    stores,
    environmentName: 'eu',
    proxy: { namespace: 'shop', name: 'orders', route: 'shop/orders', basePath: '/orders' },
    snapshot: {
      credentialHashKey: KEY,
      keyValueMaps: maps,
      policySecrets: { 'shop/upstream/password': 's3cr3t-value' },
    },
    ...options,
  });
}

async function run(config: KeyValueMapOperationsConfig, stores: Stores, options: PolicyContextOptions = {}) {
  const ctx = context(stores, options);
  await keyValueMapOperationsPolicy.create(config, meta)(ctx);
  return ctx;
}

async function fault(config: KeyValueMapOperationsConfig, stores: Stores, options: PolicyContextOptions = {}) {
  const ctx = context(stores, options);
  const err = await Promise.resolve(keyValueMapOperationsPolicy.create(config, meta)(ctx)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PolicyFault);
  return { fault: err as PolicyFault, ctx };
}

const key = (...parameters: RefOr<string>[]) => ({ parameters });

describe('KeyValueMapOperations', () => {
  it("puts two literal values and gets the second by index (Apigee's FooKVM example)", async () => {
    const stores = createMemoryStores();
    await run(
      { mapIdentifier: 'FooKVM', scope: 'environment', put: [{ key: key('FooKey_1'), value: ['foo', 'bar'] }] },
      stores,
    );
    const ctx = await run(
      {
        mapIdentifier: 'FooKVM',
        scope: 'environment',
        expiryTimeInSecs: 86400,
        get: [
          { assignTo: 'foo_variable', index: 2, key: key('FooKey_1') },
          { assignTo: 'all', key: key('FooKey_1') },
        ],
      },
      stores,
    );
    expect(ctx.variables.get('foo_variable')).toBe('bar');
    expect(ctx.variables.get('all')).toBe('foo,bar');
  });

  it('reads the KeyValueMap of its namespace and scope, composite keys joined with __', async () => {
    const ctx = await run(
      {
        mapIdentifier: 'settings',
        get: [
          { assignTo: 'timeout', key: key('timeout') },
          { assignTo: 'gold', index: 2, key: key('tier', { ref: 'tier' }) },
          { assignTo: 'missing', key: key('nope') },
        ],
      },
      createMemoryStores(),
      { variables: { tier: 'gold' } },
    );
    expect(ctx.variables.get('timeout')).toBe('5000');
    expect(ctx.variables.get('gold')).toBe('20');
    expect(ctx.variables.get('missing')).toBeUndefined();
  });

  it("never reads another namespace's map of the same name (tenancy), nor another region's", async () => {
    const stores = createMemoryStores();
    const get = { mapIdentifier: 'settings', get: [{ assignTo: 'v', key: key('timeout') }] };
    const other = context(stores);
    await keyValueMapOperationsPolicy.create(get, { namespace: 'third', name: 'x' })(other);
    expect(other.variables.get('v')).toBeUndefined();
    const us = await run(get, stores, { environmentName: 'us' });
    expect(us.variables.get('v')).toBeUndefined();
    // A put in one namespace is not seen by the same map name in another.
    await run({ mapIdentifier: 'm', put: [{ key: key('k'), value: ['mine'] }] }, stores);
    const theirs = context(stores);
    await keyValueMapOperationsPolicy.create(
      { mapIdentifier: 'm', get: [{ assignTo: 'v', key: key('k') }] },
      { namespace: 'other', name: 'x' },
    )(theirs);
    expect(theirs.variables.get('v')).toBeUndefined();
  });

  it('scopes apiproxy maps to their ApiProxy', async () => {
    const config = {
      mapIdentifier: 'routing',
      scope: 'apiproxy' as const,
      get: [{ assignTo: 'b', key: key('backend') }],
    };
    expect((await run(config, createMemoryStores())).variables.get('b')).toBe('orders-v2');
    const elsewhere = await run(config, createMemoryStores(), {
      proxy: { namespace: 'shop', name: 'billing', route: 'shop/billing', basePath: '/billing' },
    });
    expect(elsewhere.variables.get('b')).toBeUndefined();
  });

  it('put override replaces a declared value, override false keeps it, delete hides it', async () => {
    const stores = createMemoryStores();
    const get = { mapIdentifier: 'settings', expiryTimeInSecs: 0, get: [{ assignTo: 'v', key: key('timeout') }] };
    await run({ mapIdentifier: 'settings', put: [{ key: key('timeout'), value: ['1'] }] }, stores);
    expect((await run(get, stores)).variables.get('v')).toBe('5000');
    await run({ mapIdentifier: 'settings', put: [{ override: true, key: key('timeout'), value: ['2'] }] }, stores);
    expect((await run(get, stores)).variables.get('v')).toBe('2');
    await run({ mapIdentifier: 'settings', delete: [{ key: key('timeout') }] }, stores);
    expect((await run(get, stores)).variables.get('v')).toBeUndefined();
    // After a delete the key has no value: a put without override writes again.
    await run({ mapIdentifier: 'settings', put: [{ key: key('timeout'), value: ['3'] }] }, stores);
    expect((await run(get, stores)).variables.get('v')).toBe('3');
  });

  it('falls back to initialEntries and takes values from refs', async () => {
    const stores = createMemoryStores();
    const config: KeyValueMapOperationsConfig = {
      mapIdentifier: 'runtime-only',
      initialEntries: [{ key: { parameters: ['greeting'] }, value: ['hello'] }],
      put: [{ override: true, key: key({ ref: 'request.queryparam.k' }), value: [{ ref: 'request.queryparam.v' }] }],
      get: [
        { assignTo: 'greeting', key: key('greeting') },
        { assignTo: 'written', key: key({ ref: 'request.queryparam.k' }) },
      ],
    };
    const ctx = await run(config, stores, { query: 'k=color&v=blue' });
    expect(ctx.variables.get('greeting')).toBe('hello');
    expect(ctx.variables.get('written')).toBe('blue');
  });

  it('caches a Get for expiryTimeInSecs; a put through the process clears it', async () => {
    const stores = createMemoryStores();
    const now = { t: Date.UTC(2026, 0, 1) };
    const clock = () => now.t;
    const get = { mapIdentifier: 'm', expiryTimeInSecs: 60, get: [{ assignTo: 'v', key: key('k') }] };
    await run({ mapIdentifier: 'm', put: [{ key: key('k'), value: ['a'] }] }, stores, { now: clock });
    expect((await run(get, stores, { now: clock })).variables.get('v')).toBe('a');
    // Another process writes the store directly: this one keeps its cached value until expiry.
    const other = createMemoryStores();
    other.kvm = stores.kvm;
    await run({ mapIdentifier: 'm', put: [{ override: true, key: key('k'), value: ['b'] }] }, other, { now: clock });
    expect((await run(get, stores, { now: clock })).variables.get('v')).toBe('a');
    now.t += 61_000;
    expect((await run(get, stores, { now: clock })).variables.get('v')).toBe('b');
    await run({ mapIdentifier: 'm', put: [{ override: true, key: key('k'), value: ['c'] }] }, stores, { now: clock });
    expect((await run(get, stores, { now: clock })).variables.get('v')).toBe('c');
  });

  it('expires a put with expiryTimeInSecs', async () => {
    const now = { t: Date.UTC(2026, 0, 1) };
    const stores = createMemoryStores(() => now.t);
    const clock = () => now.t;
    await run({ mapIdentifier: 'm', put: [{ key: key('k'), value: ['a'], expiryTimeInSecs: 10 }] }, stores, {
      now: clock,
    });
    const get = { mapIdentifier: 'm', expiryTimeInSecs: 0, get: [{ assignTo: 'v', key: key('k') }] };
    expect((await run(get, stores, { now: clock })).variables.get('v')).toBe('a');
    now.t += 10_001;
    expect((await run(get, stores, { now: clock })).variables.get('v')).toBeUndefined();
  });

  it('gets an encrypted value only into private.*, masked wherever it is serialised', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const stores = createMemoryStores();
    const ctx = await run(
      { mapIdentifier: 'vault', scope: 'organization', get: [{ assignTo: 'private.pw', key: key('password') }] },
      stores,
    );
    const value = ctx.variables.get('private.pw');
    expect(value).toBeInstanceOf(PrivateValue);
    expect(ctx.variables.getString('private.pw')).toBe('s3cr3t-value');
    expect(ctx.variables.template('Basic {private.pw}')).toBe('Basic s3cr3t-value');
    pino(sink).info({ value, variables: { 'private.pw': value } }, 'a careless log line');
    expect(lines.join('')).not.toContain('s3cr3t');
    expect(JSON.stringify(value)).toBe(JSON.stringify(PrivateValue.MASK));
    expect(String(value)).toBe(PrivateValue.MASK);

    const { fault: f, ctx: failed } = await fault(
      { mapIdentifier: 'vault', scope: 'organization', get: [{ assignTo: 'pw', key: key('password') }] },
      stores,
    );
    expect(f).toMatchObject({ status: 500, errorCode: 'steps.keyvaluemapoperations.SetVariableFailed' });
    expect(f.message).toBe('Failed to set variable pw in KeyValueMapStepDefinition kvm-step');
    expect(failed.variables.get('keyvaluemap.kvm-step.failed')).toBe(true);
    expect(failed.variables.get('pw')).toBeUndefined();
  });

  it('seals what a put writes to an encrypted map: the store never holds it in clear', async () => {
    const stores = createMemoryStores();
    const written: string[] = [];
    const put = stores.kvm.put.bind(stores.kvm);
    stores.kvm.put = (map, k, value, ttl) => {
      written.push(map, k, value);
      return put(map, k, value, ttl);
    };
    await run(
      {
        mapIdentifier: 'vault',
        scope: 'organization',
        put: [{ override: true, key: key('api-token'), value: [{ ref: 'request.header.x-token' }] }],
      },
      stores,
      { headers: { 'x-token': 'tok-123456' } },
    );
    expect(written).toHaveLength(3);
    expect(written.join(' ')).not.toMatch(/tok-123456|api-token|vault/);
    const ctx = await run(
      {
        mapIdentifier: 'vault',
        scope: 'organization',
        expiryTimeInSecs: 0,
        get: [{ assignTo: 'private.t', key: key('api-token') }],
      },
      stores,
    );
    expect(ctx.variables.getString('private.t')).toBe('tok-123456');
  });

  it('bounds keys and values a request writes', async () => {
    const stores = createMemoryStores();
    const huge = 'x'.repeat(20_000);
    const { fault: tooLong } = await fault(
      { mapIdentifier: 'm', get: [{ assignTo: 'v', key: key({ ref: 'request.header.k' }) }] },
      stores,
      { headers: { k: huge.slice(0, 3000) } },
    );
    expect(tooLong).toMatchObject({ status: 400, errorCode: 'gatehouse.KeyValueMapEntryTooLarge' });
    const { fault: big } = await fault(
      { mapIdentifier: 'm', put: [{ key: key('k'), value: [{ ref: 'request.header.v' }] }] },
      stores,
      { headers: { v: huge } },
    );
    expect(big).toMatchObject({ status: 400, errorCode: 'gatehouse.KeyValueMapEntryTooLarge' });
    expect(big.message).not.toContain('xxxx');
  });

  it('answers UnsupportedOperationException when the mapName ref resolves to nothing', async () => {
    const { fault: f } = await fault(
      { mapName: { ref: 'kvm.name' }, get: [{ assignTo: 'v', key: key('k') }] },
      createMemoryStores(),
    );
    expect(f).toMatchObject({ status: 500, errorCode: 'steps.keyvaluemapoperations.UnsupportedOperationException' });
  });

  it('refuses a config without a map or an operation', () => {
    expect(() => keyValueMapOperationsPolicy.create({ get: [{ assignTo: 'v', key: key('k') }] }, meta)).toThrow(
      PolicyConfigError,
    );
    expect(() => keyValueMapOperationsPolicy.create({ mapIdentifier: 'm' }, meta)).toThrow(PolicyConfigError);
  });
});
