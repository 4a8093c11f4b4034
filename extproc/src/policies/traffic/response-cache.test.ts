import { describe, expect, it } from 'vitest';
import type { ResponseCacheConfig } from '../../../../protos/policies/traffic/response-cache.ts';
import { createResponseMessage } from '../../flow/message.ts';
import type { PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { responseCachePolicy } from './response-cache.ts';
import { harness, hashed, unavailableStores, type Harness } from './traffic.test-support.ts';

const meta = { namespace: 'shop', name: 'cache' };
const base: ResponseCacheConfig = {
  cacheKey: { keyFragments: [{ ref: 'request.uri' }] },
  expiry: { timeoutSeconds: 60 },
};

/** One exchange: the request phase, then (on a miss) the response phase with `response`. */
async function exchange(
  h: Harness,
  config: ResponseCacheConfig,
  opts: Omit<PolicyContextOptions, 'response'> & {
    response?: { status?: number; headers?: Record<string, string | string[]>; body?: string };
  } = {},
) {
  const step = responseCachePolicy.create(config, meta);
  const { response, ...request } = opts;
  const ctx = h.ctx({ path: '/items/1', ...request });
  const hit = await step(ctx);
  if (hit) return { hit: hit.respond, ctx };
  const upstream = { status: 200, body: 'fresh', headers: { 'content-type': 'text/plain' }, ...response };
  ctx.exchange.response = createResponseMessage({
    status: upstream.status,
    headers: upstream.headers,
    body: Buffer.from(String(upstream.body)),
  });
  await step(ctx.exchange.context('response'));
  return { hit: undefined, ctx };
}

describe('ResponseCache', () => {
  it('misses, stores the response, then answers the same request from the cache until it expires', async () => {
    const h = harness();
    const first = await exchange(h, base);
    expect(first.hit).toBeUndefined();
    expect(first.ctx.variables.get('responsecache.cache.cachehit')).toBe(false);
    expect(first.ctx.variables.get('responsecache.cache.cachekey')).toBe(
      `shop/_/test__exclusive__${hashed('/items/1')}`,
    );
    const second = await exchange(h, base);
    expect(second.hit).toEqual({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'fresh' });
    expect(second.ctx.variables.get('responsecache.cache.cachehit')).toBe(true);
    expect((await exchange(h, base, { path: '/items/2' })).hit).toBeUndefined();
    h.clock.advance(60_000);
    expect((await exchange(h, base)).hit).toBeUndefined();
  });

  it('skips the lookup or the population when told to', async () => {
    const h = harness();
    await exchange(
      h,
      { ...base, skipCachePopulation: { ref: 'request.header.x-no-store' } },
      { headers: { 'x-no-store': 'true' } },
    );
    expect((await exchange(h, { ...base, skipCachePopulation: true })).hit).toBeUndefined();
    expect((await exchange(h, base)).hit).toBeUndefined(); // nothing was stored: a miss, which stores
    expect((await exchange(h, base)).hit).toBeDefined();
    expect((await exchange(h, { ...base, skipCacheLookup: true })).hit).toBeUndefined();
  });

  it('does not store error responses unless excludeErrorResponse is false', async () => {
    const h = harness();
    await exchange(h, base, { response: { status: 503, body: 'down' } });
    expect((await exchange(h, base, { response: { status: 503 } })).hit).toBeUndefined();
    const keep = { ...base, excludeErrorResponse: false };
    await exchange(h, keep, { path: '/other', response: { status: 404, body: 'gone' } });
    expect((await exchange(h, keep, { path: '/other' })).hit).toMatchObject({ status: 404, body: 'gone' });
  });

  it('follows Cache-Control and Expires with useResponseCacheHeaders', async () => {
    const h = harness();
    const config = { ...base, useResponseCacheHeaders: true };
    await exchange(h, config, { path: '/a', response: { headers: { 'cache-control': 'no-store' } } });
    expect(
      (await exchange(h, config, { path: '/a', response: { headers: { 'cache-control': 'no-store' } } })).hit,
    ).toBeUndefined();
    await exchange(h, config, {
      path: '/b',
      response: { headers: { 'cache-control': 'public, max-age=600, s-maxage=5' } },
    });
    h.clock.advance(4_999);
    expect((await exchange(h, config, { path: '/b' })).hit).toBeDefined();
    h.clock.advance(1);
    expect(
      (
        await exchange(h, config, {
          path: '/b',
          response: { headers: { expires: new Date(h.clock.now() + 2_000).toUTCString() } },
        })
      ).hit,
    ).toBeUndefined();
    h.clock.advance(1_999);
    expect((await exchange(h, config, { path: '/b' })).hit).toBeDefined();
    h.clock.advance(1);
    expect(
      (await exchange(h, config, { path: '/b', response: { headers: { 'cache-control': 'private' } } })).hit,
    ).toBeUndefined();
  });

  it('keys by Accept headers with useAcceptHeader, and by prefix instead of scope', async () => {
    const h = harness();
    const config = { ...base, useAcceptHeader: true };
    await exchange(h, config, { headers: { accept: 'application/json' } });
    expect((await exchange(h, config, { headers: { accept: 'application/xml' } })).hit).toBeUndefined();
    expect((await exchange(h, config, { headers: { accept: 'application/json' } })).hit).toBeDefined();
    const prefixed = await exchange(h, { ...base, cacheKey: { prefix: 'v2', keyFragments: ['x'] } });
    expect(prefixed.ctx.variables.get('responsecache.cache.cachekey')).toBe(`shop/_/v2__${hashed('x')}`);
  });

  it('expires at a time of day or on a date', async () => {
    const h = harness(Date.UTC(2026, 0, 1, 11, 0, 0));
    await exchange(h, { ...base, expiry: { timeOfDay: '12:00:00' } });
    h.clock.set(Date.UTC(2026, 0, 1, 11, 59, 59));
    expect((await exchange(h, { ...base, expiry: { timeOfDay: '12:00:00' } })).hit).toBeDefined();
    h.clock.set(Date.UTC(2026, 0, 1, 12, 0, 0));
    expect((await exchange(h, { ...base, expiry: { expiryDate: '01-03-2026' } })).hit).toBeUndefined();
    h.clock.set(Date.UTC(2026, 0, 2, 23, 59, 59));
    expect((await exchange(h, { ...base, expiry: { expiryDate: '01-03-2026' } })).hit).toBeDefined();
    h.clock.set(Date.UTC(2026, 0, 3));
    expect((await exchange(h, base)).hit).toBeUndefined();
  });

  it('treats a store that is down as a miss and does not fail the request', async () => {
    const h = harness();
    const { hit } = await exchange(h, base, { stores: unavailableStores() });
    expect(hit).toBeUndefined();
  });

  it('rejects two expiry kinds at once', () => {
    expect(() =>
      responseCachePolicy.create({ ...base, expiry: { timeoutSeconds: 1, timeOfDay: '10:00:00' } }, meta),
    ).toThrow(/only one/);
  });
});
