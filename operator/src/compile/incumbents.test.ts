import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, type SourceObject } from './compile.ts';
import { hostsOverlap, incumbentsOf, keeperOrder, sortedByKeeperOrder, type Claimant } from './incumbents.ts';

const proxy = (namespace: string, name: string, basePath: string, hosts: string[] = [], port = 9090): SourceObject => ({
  object: {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiProxy',
    metadata: { namespace, name },
    spec: { basePath, ...(hosts.length ? { hosts } : {}), target: { url: `http://127.0.0.1:${port}` } },
  },
});
const secret = (namespace: string, name: string, consumerKey: string): SourceObject => ({
  object: { apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name }, stringData: { consumerKey } },
});
const product = (namespace: string): SourceObject => ({
  object: {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiProduct',
    metadata: { namespace, name: 'p' },
    spec: { proxies: ['x'] },
  },
});
const app = (namespace: string, name: string, secretName: string): SourceObject => ({
  object: {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'DeveloperApp',
    metadata: { namespace, name },
    spec: {
      developer: { email: `${name}@example.com` },
      products: [{ name: 'p' }],
      credentials: [{ secretRef: { name: secretName } }],
    },
  },
});
const key = 'k'.repeat(32);
const served = (objects: SourceObject[], previous?: SourceObject[]) => {
  const before = previous && compile(previous, { credentialHashKey: key });
  return compile(objects, { credentialHashKey: key, incumbents: incumbentsOf(before?.snapshot.runtime) });
};
const servingProxies = (r: ReturnType<typeof compile>) =>
  (r.snapshot.runtime.proxies ?? []).map((p) => `${p.namespace}/${p.name}`);

describe('what serves keeps serving (folder mode has no creationTimestamp)', () => {
  it('a newcomer first by namespace/name does not take a base path from the proxy serving it', () => {
    const incumbent = proxy('zeta', 'orders', '/orders');
    const newcomer = proxy('alpha', 'orders', '/orders', ['api.bank.example'], 9999);
    // Without anything serving, the first by namespace/name wins (a deterministic first load)...
    expect(servingProxies(served([incumbent, newcomer]))).toEqual(['alpha/orders']);
    // ...but once zeta/orders serves, it keeps the route against any later spelling of it.
    const after = served([incumbent, newcomer], [incumbent]);
    expect(servingProxies(after)).toEqual(['zeta/orders']);
    const lost = after.errors.find((e) => e.name === 'orders' && e.namespace === 'alpha');
    expect(lost?.reason).toBe('Conflicted');
    expect(lost?.message).not.toContain('zeta');
  });

  it('a serving proxy that moves to a base path someone else serves does not take it', () => {
    const a = proxy('team-a', 'a', '/a');
    const b = proxy('team-b', 'b', '/b');
    const aMoved = proxy('team-a', 'a', '/b');
    expect(servingProxies(served([aMoved, b], [a, b]))).toEqual(['team-b/b']);
  });

  it('a consumer key stays with the app holding it when an app first by name declares it', () => {
    const base = [
      ...['zeta', 'alpha'].flatMap((ns) => [proxy(ns, 'x', `/x-${ns}`), product(ns), secret(ns, 's', 'the-key')]),
    ];
    const holder = app('zeta', 'holder', 's');
    const newcomer = app('alpha', 'newcomer', 's');
    const after = served([...base, holder, newcomer], [...base, holder]);
    expect((after.snapshot.runtime.apps ?? []).map((a) => `${a.namespace}/${a.name}`)).toEqual(['zeta/holder']);
    const refused = after.errors.find((e) => e.name === 'newcomer');
    expect(refused?.reason).toBe('DuplicateCredential');
    expect(refused?.message).toContain('a DeveloperApp in another namespace');
    expect(refused?.message).not.toContain('zeta');
    expect(refused?.message).not.toContain('holder');
  });
});

describe('kube mode: the status says who holds (the same for every replica and after a restart)', () => {
  const withStatus = (o: SourceObject, observedGeneration: number): SourceObject => {
    const object = o.object as Record<string, unknown> & { metadata: Record<string, unknown> };
    return {
      object: {
        ...object,
        metadata: { ...object.metadata, generation: 2, creationTimestamp: '2026-05-01T00:00:00Z' },
        status: { observedGeneration, conditions: [{ type: 'Accepted', status: 'True', observedGeneration }] },
      },
    };
  };
  const older = (o: SourceObject): SourceObject => {
    const object = o.object as Record<string, unknown> & { metadata: Record<string, unknown> };
    return { object: { ...object, metadata: { ...object.metadata, creationTimestamp: '2026-01-01T00:00:00Z' } } };
  };

  it('an object accepted at its current generation keeps its route against an older newcomer', () => {
    const holder = withStatus(proxy('zeta', 'orders', '/orders'), 2);
    const newcomer = older(proxy('alpha', 'orders', '/orders', ['api.bank.example']));
    expect(servingProxies(served([holder, newcomer]))).toEqual(['zeta/orders']);
  });

  it('a status about an older generation holds nothing: the oldest wins', () => {
    const edited = withStatus(proxy('zeta', 'orders', '/orders'), 1);
    const other = older(proxy('alpha', 'orders', '/orders'));
    expect(servingProxies(served([edited, other]))).toEqual(['alpha/orders']);
  });
});

describe('hostsOverlap', () => {
  it.each([
    [[], ['a.example'], true],
    [['a.example'], ['a.example:8443'], true],
    [['*.example'], ['a.example'], true],
    [['*.example'], ['example'], false],
    [['*.a.example'], ['*.example'], true],
    [['a.example'], ['b.example'], false],
  ])('%j and %j: %s', (a, b, overlap) => {
    expect(hostsOverlap(a, b) !== undefined).toBe(overlap);
    expect(hostsOverlap(b, a) !== undefined).toBe(overlap);
  });
});

describe('sortedByKeeperOrder', () => {
  it('orders as sorting with keeperOrder does', () => {
    const claimant = fc.record(
      {
        namespace: fc.constantFrom('a', 'b', 'shop'),
        name: fc.constantFrom('x', 'y', 'mobile', 'x-1'),
        creationTimestamp: fc.constantFrom('2026-01-01T00:00:00Z', '2025-06-01T00:00:00Z', 'not a time'),
      },
      { requiredKeys: ['namespace', 'name'] },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(claimant, fc.boolean()), { maxLength: 40 }), (items) => {
        const holds = (i: [Claimant, boolean]) => i[1];
        const of = (i: [Claimant, boolean]) => i[0];
        expect(sortedByKeeperOrder(items, holds, of)).toEqual([...items].sort(keeperOrder(holds, of)));
      }),
    );
  });
});
