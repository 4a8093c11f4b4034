import { describe, expect, it } from 'vitest';
import { lookupCachePolicy } from './lookup-cache.ts';
import { populateCachePolicy } from './populate-cache.ts';
import { harness, unavailableStores } from './traffic.test-support.ts';

const target = { cacheKey: { keyFragments: [{ ref: 'client_id' }] }, scope: 'Application' as const };

describe('LookupCache', () => {
  it('assigns the cached value and reports hit or miss', async () => {
    const h = harness();
    const lookup = lookupCachePolicy.create(
      { ...target, assignTo: 'cached.profile' },
      { namespace: 'shop', name: 'lookup' },
    );
    const miss = h.ctx({ variables: { client_id: 'a' } });
    await lookup(miss);
    expect(miss.variables.get('lookupcache.lookup.cachehit')).toBe(false);
    expect(miss.variables.get('cached.profile')).toBeUndefined();
    await populateCachePolicy.create(
      { ...target, source: 'profile' },
      { namespace: 'shop', name: 'populate' },
    )(h.ctx({ variables: { client_id: 'a', profile: 'gold' } }));
    const hit = h.ctx({ variables: { client_id: 'a' } });
    await lookup(hit);
    expect(hit.variables.get('lookupcache.lookup.cachehit')).toBe(true);
    expect(hit.variables.get('cached.profile')).toBe('gold');
  });

  it('misses when the store is down', async () => {
    const ctx = harness().ctx({ stores: unavailableStores() });
    await lookupCachePolicy.create({ ...target, assignTo: 'x' }, { namespace: 'shop', name: 'lookup' })(ctx);
    expect(ctx.variables.get('lookupcache.lookup.cachehit')).toBe(false);
  });
});
