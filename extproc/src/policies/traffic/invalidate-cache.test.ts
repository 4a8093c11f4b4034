import { describe, expect, it } from 'vitest';
import type { CacheScope } from '../../../../protos/policies/traffic/cache-common.ts';
import { invalidateCachePolicy } from './invalidate-cache.ts';
import { populateCachePolicy } from './populate-cache.ts';
import { faultOf, harness, hashed, unavailableStores, type Harness } from './traffic.test-support.ts';

const meta = { namespace: 'shop', name: 'cache' };

async function put(h: Harness, scope: CacheScope, fragments: string[]) {
  await populateCachePolicy.create(
    { cacheKey: { keyFragments: fragments }, scope, source: 'v' },
    meta,
  )(h.ctx({ variables: { v: 'x' } }));
}

const keys = [
  `shop/_/test__exclusive__${hashed('a')}__${hashed('1')}`,
  `shop/_/test__exclusive__${hashed('a')}__${hashed('2')}`,
  `shop/_/test__proxy__${hashed('a')}__${hashed('1')}`,
  `shop/_/${hashed('a')}__${hashed('1')}`,
];

async function present(h: Harness): Promise<string[]> {
  const found: string[] = [];
  for (const k of keys) if (await h.stores.cache.get(k)) found.push(k);
  return found;
}

describe('InvalidateCache', () => {
  async function filled(): Promise<Harness> {
    const h = harness();
    await put(h, 'Exclusive', ['a', '1']);
    await put(h, 'Exclusive', ['a', '2']);
    await put(h, 'Proxy', ['a', '1']);
    await put(h, 'Global', ['a', '1']);
    expect(await present(h)).toEqual(keys);
    return h;
  }

  it('removes one entry in its scope', async () => {
    const h = await filled();
    await invalidateCachePolicy.create({ cacheKey: { keyFragments: ['a', '1'] } }, meta)(h.ctx());
    expect(await present(h)).toEqual([keys[1], keys[2], keys[3]]);
  });

  it('purges child entries under a key', async () => {
    const h = await filled();
    await invalidateCachePolicy.create({ cacheKey: { keyFragments: ['a'] }, purgeChildEntries: true }, meta)(h.ctx());
    expect(await present(h)).toEqual([keys[2], keys[3]]);
  });

  it('purges a whole application (every scope of the proxy) with no fragments', async () => {
    const h = await filled();
    await invalidateCachePolicy.create({ cacheKey: {}, scope: 'Application', purgeChildEntries: true }, meta)(h.ctx());
    expect(await present(h)).toEqual([keys[3]]);
  });

  it('answers 503 when the store is down: a purge that did not happen is not silent', async () => {
    const fault = await faultOf(
      invalidateCachePolicy.create({ cacheKey: { keyFragments: ['a'] } }, meta),
      harness().ctx({ stores: unavailableStores() }),
    );
    expect(fault).toMatchObject({ status: 503, errorCode: 'gatehouse.StoreUnavailable' });
  });
});
