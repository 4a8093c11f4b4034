// The Redis token store against a real redis-server: two store instances (two extproc replicas)
// racing to take one code, the status flag flipped in place with the TTL kept, and a dead Redis
// refused even under LocalFallback (the token store never falls back).
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ENV } from '../../../e2e/env/env.ts';
import { freePort } from '../../../e2e/env/ports.ts';
import { createRedisStores, redisKey, type RedisStores } from './redis.ts';
import { StoreUnavailableError } from './types.ts';

const url = process.env[ENV.redisUrl]!;
const region = `it-tokens-${process.pid}`;
const opened: RedisStores[] = [];

async function stores(options: { url: string; onUnavailable?: 'LocalFallback' | 'FailClosed' }): Promise<RedisStores> {
  const s = await createRedisStores({ region, deadlineMs: 2_000, connectTimeoutMs: 300, openMs: 200, ...options });
  opened.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

describe('Redis token store', () => {
  it('gives a code to exactly one of many concurrent takes across two replicas', async () => {
    const [a, b] = [await stores({ url }), await stores({ url })];
    for (let round = 0; round < 20; round++) {
      const id = `code-${round}`;
      await a.tokens.put(id, 'Arecord', 60_000);
      const takes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).tokens.take(id)));
      expect(takes.filter((t) => t !== undefined)).toEqual(['Arecord']);
    }
  });

  it('flips the status flag in place, keeping the TTL, and never creates a key', async () => {
    const s = await stores({ url });
    const redis = new Redis(url);
    try {
      await s.tokens.put('flag', 'Arest-of-record', 60_000);
      expect(await s.tokens.setFlag('flag', 'R')).toBe(true);
      expect(await s.tokens.get('flag')).toBe('Rrest-of-record');
      expect(await redis.pttl(redisKey(region, 'token', 'flag'))).toBeGreaterThan(50_000);
      expect(await s.tokens.setFlag('absent', 'R')).toBe(false);
      expect(await redis.exists(redisKey(region, 'token', 'absent'))).toBe(0);
      await s.tokens.delete(['flag']);
      expect(await s.tokens.get('flag')).toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });

  it('fails closed when Redis is down, even with onUnavailable LocalFallback', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const s = await stores({ url: dead, onUnavailable: 'LocalFallback' });
    await expect(s.tokens.get('x')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(s.tokens.put('x', 'A', 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
    // The rate-limit stores still fall back, as before.
    await expect(s.cache.get('x')).resolves.toBeUndefined();
  });
});
