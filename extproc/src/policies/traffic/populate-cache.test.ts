import { describe, expect, it } from 'vitest';
import { populateCachePolicy } from './populate-cache.ts';
import { harness, hashed, unavailableStores } from './traffic.test-support.ts';

const meta = { namespace: 'shop', name: 'populate' };

describe('PopulateCache', () => {
  it('stores the source variable until the expiry, scoped by namespace, resource and scope', async () => {
    const h = harness();
    const step = populateCachePolicy.create(
      {
        cacheKey: { keyFragments: ['k'] },
        scope: 'Global',
        cacheResource: 'profiles',
        source: 'v',
        expiry: { timeoutSeconds: 10 },
      },
      meta,
    );
    await step(h.ctx({ variables: { v: { tier: 'gold' } } }));
    expect((await h.stores.cache.get(`shop/profiles/${hashed('k')}`))?.toString()).toBe('{"tier":"gold"}');
    h.clock.advance(10_000);
    expect(await h.stores.cache.get(`shop/profiles/${hashed('k')}`)).toBeUndefined();
  });

  it('stores nothing for an unset source and does not fail when the store is down', async () => {
    const h = harness();
    const step = populateCachePolicy.create({ cacheKey: { keyFragments: ['k'] }, scope: 'Global', source: 'v' }, meta);
    await step(h.ctx());
    expect(await h.stores.cache.get(`shop/_/${hashed('k')}`)).toBeUndefined();
    await expect(step(h.ctx({ stores: unavailableStores(), variables: { v: 'x' } }))).resolves.toBeUndefined();
  });
});
