import { describe, expect, it } from 'vitest';
import type { SourceObject } from '../compile/compile.ts';
import { acceptedFromStatus, compileKeepingLastAccepted, revisionOf, type AcceptedRevision } from './last-accepted.ts';

const proxy = (name: string, generation: number, spec: Record<string, unknown>): SourceObject => ({
  object: {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiProxy',
    metadata: { name, namespace: 'shop', generation },
    spec,
  },
});
const policy = (name: string, generation: number, spec: Record<string, unknown>): SourceObject => ({
  object: {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiPolicy',
    metadata: { name, namespace: 'shop', generation },
    spec,
  },
});
const good = { basePath: '/orders', target: { url: 'http://127.0.0.1:9090' } };
const options = { credentialHashKey: 'k' };
const basePaths = (runtime: unknown) =>
  (runtime as { proxies: { name: string; basePath: string }[] }).proxies.map((p) => `${p.name}:${p.basePath}`);

describe('compileKeepingLastAccepted', () => {
  it('keeps serving the last accepted generation of an object that turned invalid, and says so', () => {
    const first = compileKeepingLastAccepted(
      [proxy('orders', 1, good), proxy('other', 1, { ...good, basePath: '/other' })],
      new Map(),
      options,
    );
    expect(first.outcomes.get('ApiProxy/shop/orders')).toMatchObject({ generation: 1, servingGeneration: 1 });

    // Generation 2 fails compile (a step names a policy that does not exist).
    const broken = { ...good, basePath: '/orders/v2', flows: { preFlow: { request: [{ policy: 'missing' }] } } };
    const second = compileKeepingLastAccepted(
      [proxy('orders', 2, broken), proxy('other', 1, { ...good, basePath: '/other' })],
      first.lastAccepted,
      options,
    );
    const outcome = second.outcomes.get('ApiProxy/shop/orders')!;
    expect(outcome).toMatchObject({ generation: 2, servingGeneration: 1 });
    expect(outcome.conditions.find((c) => c.type === 'ResolvedRefs')).toMatchObject({
      status: 'False',
      message: expect.stringContaining('missing') as unknown,
    });
    expect(basePaths(second.result.snapshot.runtime)).toEqual(['orders:/orders', 'other:/other']);
    expect(second.fallbacks.get('ApiProxy/shop/orders')).toBe(1);

    // Fixed in generation 3: served, memory moves on.
    const third = compileKeepingLastAccepted(
      [proxy('orders', 3, { ...good, basePath: '/orders/v3' }), proxy('other', 1, { ...good, basePath: '/other' })],
      second.lastAccepted,
      options,
    );
    expect(third.outcomes.get('ApiProxy/shop/orders')).toMatchObject({ generation: 3, servingGeneration: 3 });
    expect(basePaths(third.result.snapshot.runtime)).toEqual(['orders:/orders/v3', 'other:/other']);
    expect(third.lastAccepted.get('ApiProxy/shop/orders')?.generation).toBe(3);
  });

  it('a new object that is invalid from the start is simply left out', () => {
    const r = compileKeepingLastAccepted(
      [proxy('orders', 1, { ...good, flows: { preFlow: { request: [{ policy: 'missing' }] } } })],
      new Map(),
      options,
    );
    expect(r.outcomes.get('ApiProxy/shop/orders')).toMatchObject({ generation: 1, servingGeneration: undefined });
    expect(basePaths(r.result.snapshot.runtime)).toEqual([]);
  });

  it('an invalid ApiPolicy falls back to its last accepted generation, so the proxy that uses it keeps serving', () => {
    const withPolicy = { ...good, flows: { preFlow: { request: [{ policy: 'limit' }] } } };
    const okPolicy = { type: 'SpikeArrest', spikeArrest: { rate: '10ps' } };
    const first = compileKeepingLastAccepted(
      [proxy('orders', 1, withPolicy), policy('limit', 1, okPolicy)],
      new Map(),
      options,
    );
    expect(first.outcomes.get('ApiPolicy/shop/limit')?.servingGeneration).toBe(1);
    const second = compileKeepingLastAccepted(
      [proxy('orders', 1, withPolicy), policy('limit', 2, { type: 'SpikeArrest', spikeArrest: { rate: 'fast' } })],
      first.lastAccepted,
      options,
    );
    expect(second.outcomes.get('ApiPolicy/shop/limit')).toMatchObject({ generation: 2, servingGeneration: 1 });
    expect(second.outcomes.get('ApiPolicy/shop/limit')!.conditions[0]).toMatchObject({
      type: 'Accepted',
      status: 'False',
    });
    expect(second.outcomes.get('ApiProxy/shop/orders')).toMatchObject({ servingGeneration: 1 });
    expect(second.outcomes.get('ApiProxy/shop/orders')!.conditions[0]).toMatchObject({
      type: 'Accepted',
      status: 'True',
    });
  });

  it('a policy resource ConfigMap that loses its key or turns bad keeps its last accepted data serving', () => {
    const xsl = (element: string) =>
      `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/"><${element}/></xsl:template></xsl:stylesheet>`;
    const configMap = (data: Record<string, string>): SourceObject => ({
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'styles', namespace: 'shop', labels: { 'gatehouse.dev/resource': 'true' } },
        data,
      },
    });
    const objects = (cm: SourceObject[]) => [
      proxy('orders', 1, { ...good, flows: { preFlow: { request: [{ policy: 'upper' }] } } }),
      policy('upper', 1, { type: 'XSLTransform', xslTransform: { configMapRef: { name: 'styles', key: 'a.xsl' } } }),
      ...cm,
    ];
    const served = (runtime: unknown) =>
      (
        JSON.parse(
          (runtime as { proxies: { policies: Record<string, { configJson: string }> }[] }).proxies[0]!.policies.upper!
            .configJson,
        ) as { stylesheet: string }
      ).stylesheet;
    const first = compileKeepingLastAccepted(objects([configMap({ 'a.xsl': xsl('one') })]), new Map(), options);
    expect(served(first.result.snapshot.runtime)).toBe(xsl('one'));

    // The key goes: the policy reports it, the proxy keeps serving the last accepted text.
    const gone = compileKeepingLastAccepted(objects([configMap({ 'b.xsl': xsl('x') })]), first.lastAccepted, options);
    expect(served(gone.result.snapshot.runtime)).toBe(xsl('one'));
    expect(gone.outcomes.get('ApiPolicy/shop/upper')!.conditions.find((c) => c.type === 'ResolvedRefs')).toMatchObject({
      status: 'False',
      message: expect.stringContaining('configMapRef.key') as unknown,
    });
    expect(gone.errors.map((e) => e.field)).toEqual(['spec.xslTransform.configMapRef.key']);
    expect(gone.fallbacks.get('ApiPolicy/shop/upper')).toBe(1);

    // The ConfigMap is deleted, then holds a stylesheet that reads other documents: still the last good one.
    const deleted = compileKeepingLastAccepted(objects([]), gone.lastAccepted, options);
    expect(served(deleted.result.snapshot.runtime)).toBe(xsl('one'));
    const hostile = xsl('x').replace('<x/>', '<xsl:copy-of select="document(\'file:///etc/passwd\')"/>');
    const bad = compileKeepingLastAccepted(objects([configMap({ 'a.xsl': hostile })]), deleted.lastAccepted, options);
    expect(served(bad.result.snapshot.runtime)).toBe(xsl('one'));
    expect(bad.errors[0]?.message).toMatch(/document\(\) .* is not allowed/);

    // Fixed: the new text serves and becomes the one kept.
    const fixed = compileKeepingLastAccepted(objects([configMap({ 'a.xsl': xsl('two') })]), bad.lastAccepted, options);
    expect(served(fixed.result.snapshot.runtime)).toBe(xsl('two'));
    expect(fixed.errors).toEqual([]);
    expect(fixed.fallbacks.size).toBe(0);
  });

  it('forgets deleted objects', () => {
    const previous = new Map<string, AcceptedRevision>([
      ['ApiProxy/shop/gone', { object: proxy('gone', 1, good).object, generation: 1, revision: 'r1' }],
    ]);
    const r = compileKeepingLastAccepted([], previous, options);
    expect(r.lastAccepted.size).toBe(0);
    expect(basePaths(r.result.snapshot.runtime)).toEqual([]);
  });

  it('without metadata.generation (folder mode), the content tells an edit of its own from a change around it', () => {
    const orders = (spec: Record<string, unknown>): SourceObject => ({
      object: {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'ApiProxy',
        metadata: { name: 'orders', namespace: 'shop' },
        spec,
      },
    });
    const first = compileKeepingLastAccepted([orders(good)], new Map(), options);
    const broken = compileKeepingLastAccepted([orders({ ...good, basePath: 'no-slash' })], first.lastAccepted, options);
    expect(basePaths(broken.result.snapshot.runtime)).toEqual(['orders:/orders']);
    expect(broken.fallbacks.has('ApiProxy/shop/orders')).toBe(true);
    // The error reported is the current revision's, though the published compile has the older one.
    expect(broken.result.errors).toEqual([]);
    expect(broken.errors).toEqual([
      expect.objectContaining({ kind: 'ApiProxy', name: 'orders', field: 'spec.basePath' }) as unknown,
    ]);

    // Unchanged but now rejected for a reference that went away: not its own change, so left out.
    const withPolicy = { ...good, flows: { preFlow: { request: [{ policy: 'limit' }] } } };
    const limit = policy('limit', 0, { type: 'SpikeArrest', spikeArrest: { rate: '10ps' } });
    const served = compileKeepingLastAccepted([orders(withPolicy), limit], new Map(), options);
    const gone = compileKeepingLastAccepted([orders(withPolicy)], served.lastAccepted, options);
    expect(basePaths(gone.result.snapshot.runtime)).toEqual([]);
    expect(gone.fallbacks.size).toBe(0);
    expect(gone.lastAccepted.has('ApiProxy/shop/orders')).toBe(true);
  });

  it('revisionOf: what compile reads (apiVersion, spec, Secret data), not metadata or status', () => {
    const base = proxy('orders', 1, good).object as Record<string, unknown>;
    const same = [
      { ...base, metadata: { name: 'orders', namespace: 'shop', generation: 7, labels: { a: 'b' } } },
      { ...base, status: { conditions: [] } },
      { ...base, spec: { target: good.target, basePath: good.basePath } },
    ];
    for (const o of same) expect(revisionOf(o)).toBe(revisionOf(base));
    expect(revisionOf({ ...base, spec: { ...good, basePath: '/other' } })).not.toBe(revisionOf(base));
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { k: 'a' } };
    expect(revisionOf({ ...secret, stringData: { k: 'b' } })).not.toBe(revisionOf(secret));
  });
});

describe('acceptedFromStatus', () => {
  it('reads status.lastAccepted as the revision it was, and only for the kinds it is written for', () => {
    const spec = { basePath: '/a', target: { url: 'http://127.0.0.1:9090' } };
    const current = {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiProxy',
      metadata: { namespace: 'shop', name: 'a', generation: 3 },
      spec: { ...spec, basePath: '/b' },
      status: { lastAccepted: { generation: 2, spec } },
    };
    const dataPlane = { ...current, kind: 'DataPlane' };
    const unrecorded = { ...current, kind: 'Secret' };
    const broken = { ...current, metadata: { ...current.metadata, name: 'b' }, status: { lastAccepted: { spec } } };
    const read = acceptedFromStatus([
      { object: current },
      { object: dataPlane },
      { object: unrecorded },
      { object: broken },
    ]);
    expect([...read.keys()]).toEqual(['ApiProxy/shop/a', 'DataPlane/shop/a']);
    const revision = read.get('ApiProxy/shop/a')!;
    expect(revision.generation).toBe(2);
    expect(revision.revision).toBe(revisionOf({ apiVersion: current.apiVersion, spec }));
    expect(revision.revision).not.toBe(revisionOf(current));
  });

  it('reads each object once: the same object gives the same revision; a changed copy is read again', () => {
    const spec = { basePath: '/a', target: { url: 'http://127.0.0.1:9090' } };
    const object = {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiProxy',
      metadata: { namespace: 'shop', name: 'a', generation: 2 },
      spec,
      status: { lastAccepted: { generation: 2, spec } },
    };
    const first = acceptedFromStatus([{ object }]).get('ApiProxy/shop/a');
    expect(acceptedFromStatus([{ object }]).get('ApiProxy/shop/a')).toBe(first);
    const older = { generation: 1, spec: { ...spec, basePath: '/old' } };
    const changed = { ...object, status: { lastAccepted: older } };
    const read = acceptedFromStatus([{ object: changed }]).get('ApiProxy/shop/a')!;
    expect(read.generation).toBe(1);
    expect(read.revision).toBe(revisionOf({ apiVersion: object.apiVersion, spec: older.spec }));
    // Without status.lastAccepted (a status wiped), nothing is read, and that is remembered too.
    const wiped = { ...object, status: {} };
    expect(acceptedFromStatus([{ object: wiped }]).size).toBe(0);
    expect(acceptedFromStatus([{ object: wiped }]).size).toBe(0);
  });
});
