import { describe, expect, it } from 'vitest';
import { Backoff, withoutBookkeeping } from './informer.ts';

describe('informer restart backoff', () => {
  it('doubles from the initial delay to the maximum, jittered up to twice the step, and starts over on reset', () => {
    const low = new Backoff(200, 30_000, () => 0);
    expect(Array.from({ length: 10 }, () => low.next())).toEqual([
      200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000,
    ]);
    low.reset();
    expect(low.next()).toBe(200);
    const high = new Backoff(200, 30_000, () => 0.5);
    expect(Array.from({ length: 9 }, () => high.next())).toEqual([
      300, 600, 1200, 2400, 4800, 9600, 19_200, 30_000, 30_000,
    ]);
  });
});

describe('the cache transform (withoutBookkeeping)', () => {
  const spec = { basePath: '/orders', target: { url: 'http://orders:8080' } };
  const object = () => ({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiProxy',
    metadata: {
      name: 'orders',
      namespace: 'shop',
      generation: 2,
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}', owner: 'team-a' },
      managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
    },
    spec: structuredClone(spec),
    status: { observedGeneration: 2, lastAccepted: { generation: 2, spec: structuredClone(spec) } },
  });

  it('drops managedFields and last-applied-configuration, keeps other annotations, never edits its input', () => {
    const input = object();
    const before = structuredClone(input);
    const cached = withoutBookkeeping(input) as ReturnType<typeof object>;
    expect(input).toEqual(before);
    expect(cached.metadata).toEqual({
      name: 'orders',
      namespace: 'shop',
      generation: 2,
      annotations: { owner: 'team-a' },
    });
  });

  it('caches status.lastAccepted.spec as the object spec when they are equal, a copy of its own when not', () => {
    const cached = withoutBookkeeping(object()) as ReturnType<typeof object>;
    expect(cached.status.lastAccepted.spec).toBe(cached.spec);
    expect(cached.status).toEqual({ observedGeneration: 2, lastAccepted: { generation: 2, spec } });
    const edited = object();
    edited.spec.basePath = '/orders/v2';
    const kept = withoutBookkeeping(edited) as ReturnType<typeof object>;
    expect(kept.status.lastAccepted.spec).not.toBe(kept.spec);
    expect(kept.status.lastAccepted.spec).toEqual(spec);
    // Hostile or broken status members are left as they are.
    for (const status of [{ lastAccepted: null }, { lastAccepted: 'x' }, { lastAccepted: { spec: 3 } }, 'x', null]) {
      const odd = { ...object(), status } as unknown as ReturnType<typeof object>;
      expect((withoutBookkeeping(odd) as { status: unknown }).status).toEqual(status);
    }
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'dg==' } };
    expect(withoutBookkeeping(secret)).toBe(secret);
  });

  it('keeps one copy of the strings status conditions repeat, and the conditions as they were', () => {
    const condition = () => ({
      type: 'Programmed',
      status: 'True',
      reason: 'Programmed',
      message: 'generation 2 is in the served configuration',
      observedGeneration: 2,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    const withConditions = () => ({ ...object(), status: { conditions: [condition(), 'odd', null] } });
    const [a, b] = [withConditions(), withConditions()].map(
      (o) => withoutBookkeeping(o) as unknown as { status: { conditions: unknown[] } },
    );
    expect(a!.status.conditions).toEqual([condition(), 'odd', null]);
    expect(b!.status.conditions).toEqual(a!.status.conditions);
    // Many distinct values (a hostile object) are still cached as they are.
    for (let i = 0; i < 5000; i++) {
      const one = { ...object(), status: { conditions: [{ ...condition(), message: `m${i}` }] } };
      expect(
        (withoutBookkeeping(one) as unknown as { status: { conditions: { message: string }[] } }).status.conditions[0]!
          .message,
      ).toBe(`m${i}`);
    }
  });
});
