import { describe, expect, it } from 'vitest';
import { createMemoryStores, ExpiringLruMap } from './memory.ts';
import type { AdmissionOp } from './types.ts';

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

describe('ExpiringLruMap', () => {
  it('evicts the least recently used entry past the cap', () => {
    const clock = fakeClock();
    const map = new ExpiringLruMap<number>(clock.now, 2);
    map.set('a', 1);
    map.set('b', 2);
    map.get('a'); // a is now the most recently used
    map.set('c', 3);
    expect(map.get('b')).toBeUndefined();
    expect(map.get('a')).toBe(1);
    expect(map.get('c')).toBe(3);
    expect(map.size).toBe(2);
  });

  it('expires entries on read', () => {
    const clock = fakeClock();
    const map = new ExpiringLruMap<string>(clock.now, 10);
    map.set('k', 'v', 100);
    clock.advance(99);
    expect(map.get('k')).toBe('v');
    clock.advance(1);
    expect(map.get('k')).toBeUndefined();
    expect(map.size).toBe(0);
  });
});

describe('createMemoryStores', () => {
  it('counts fixed windows, rejects over the limit without counting, and restarts after the window', async () => {
    const clock = fakeClock(60_000);
    const { counters } = createMemoryStores(clock.now);
    const req = (weight: number) => ({
      key: 'q',
      kind: 'fixed' as const,
      weight,
      limit: 3,
      windowMs: 60_000,
      windowStartMs: Math.floor(clock.now() / 60_000) * 60_000,
      nowMs: clock.now(),
    });
    expect(await counters.consume(req(1))).toEqual({ admitted: true, used: 1, windowEndMs: 120_000 });
    expect(await counters.consume(req(2))).toEqual({ admitted: true, used: 3, windowEndMs: 120_000 });
    expect(await counters.consume(req(1))).toEqual({ admitted: false, used: 3, windowEndMs: 120_000 });
    expect(await counters.get('q')).toBe(3);
    await counters.reset('q', 2);
    expect(await counters.get('q')).toBe(1);
    clock.advance(60_000);
    expect(await counters.get('q')).toBe(0);
    expect((await counters.consume(req(1))).used).toBe(1);
    await counters.reset('q');
    expect(await counters.get('q')).toBe(0);
  });

  it('weighs the previous window in a sliding window and starts flexi windows at the first request', async () => {
    const clock = fakeClock(0);
    const { counters } = createMemoryStores(clock.now);
    const sliding = () => ({
      key: 's',
      kind: 'sliding' as const,
      weight: 1,
      limit: 4,
      windowMs: 1000,
      windowStartMs: Math.floor(clock.now() / 1000) * 1000,
      nowMs: clock.now(),
    });
    for (let i = 0; i < 4; i++) expect((await counters.consume(sliding())).admitted).toBe(true);
    clock.set(1500); // half of the previous window (4) still counts: 2
    expect((await counters.consume(sliding())).admitted).toBe(true);
    expect((await counters.consume(sliding())).admitted).toBe(true);
    expect((await counters.consume(sliding())).admitted).toBe(false);
    const flexi = () => ({
      key: 'f',
      kind: 'flexi' as const,
      weight: 1,
      limit: 1,
      windowMs: 1000,
      windowStartMs: 0,
      nowMs: clock.now(),
    });
    expect(await counters.consume(flexi())).toEqual({ admitted: true, used: 1, windowEndMs: 2500 });
    clock.set(2499);
    expect((await counters.consume(flexi())).admitted).toBe(false);
    clock.set(2500);
    expect(await counters.consume(flexi())).toEqual({ admitted: true, used: 1, windowEndMs: 3500 });
  });

  it('takes tokens and refills them over time', async () => {
    const clock = fakeClock();
    const { buckets } = createMemoryStores(clock.now);
    const refillPerMs = 1 / 1000; // one token a second
    expect(await buckets.take('s', 1, 2, refillPerMs, clock.now())).toBe(true);
    expect(await buckets.take('s', 1, 2, refillPerMs, clock.now())).toBe(true);
    expect(await buckets.take('s', 1, 2, refillPerMs, clock.now())).toBe(false);
    clock.advance(1000);
    expect(await buckets.take('s', 1, 2, refillPerMs, clock.now())).toBe(true);
    expect(await buckets.take('s', 1, 2, refillPerMs, clock.now())).toBe(false);
    clock.advance(10_000);
    // Refill never exceeds capacity.
    expect(await buckets.take('s', 3, 2, refillPerMs, clock.now())).toBe(false);
    expect(await buckets.take('s', 2, 2, refillPerMs, clock.now())).toBe(true);
  });

  it('caches with a TTL, copies values, and purges by prefix', async () => {
    const clock = fakeClock();
    const { cache } = createMemoryStores(clock.now);
    const value = Buffer.from('hello');
    await cache.set('rc:orders:/a', value, 1000);
    await cache.set('rc:orders:/b', Buffer.from('b'), 1000);
    await cache.set('rc:users:/a', Buffer.from('u'), 1000);
    value.write('HELLO');
    expect((await cache.get('rc:orders:/a'))?.toString()).toBe('hello');
    await cache.deletePrefix('rc:orders:');
    expect(await cache.get('rc:orders:/a')).toBeUndefined();
    expect(await cache.get('rc:orders:/b')).toBeUndefined();
    expect((await cache.get('rc:users:/a'))?.toString()).toBe('u');
    clock.advance(1000);
    expect(await cache.get('rc:users:/a')).toBeUndefined();
    await cache.set('x', Buffer.from('x'), 1000);
    await cache.delete('x');
    expect(await cache.get('x')).toBeUndefined();
  });

  it('keeps key/value maps apart and honours optional TTLs', async () => {
    const clock = fakeClock();
    const { kvm } = createMemoryStores({ clock: clock.now });
    await kvm.put('a:b', 'c', 'first');
    await kvm.put('a', 'b:c', 'second');
    expect(await kvm.get('a:b', 'c')).toBe('first');
    expect(await kvm.get('a', 'b:c')).toBe('second');
    await kvm.put('m', 'short', 'payload', 500);
    clock.advance(499);
    expect(await kvm.get('m', 'short')).toBe('payload');
    clock.advance(1);
    expect(await kvm.get('m', 'short')).toBeUndefined();
    await kvm.delete('a:b', 'c');
    expect(await kvm.get('a:b', 'c')).toBeUndefined();
  });

  it('expires tokens and takes each one once', async () => {
    const clock = fakeClock();
    const { tokens } = createMemoryStores({ clock: clock.now });
    await tokens.put('t1', 'payload', 500);
    clock.advance(499);
    expect(await tokens.get('t1')).toBe('payload');
    clock.advance(1);
    expect(await tokens.get('t1')).toBeUndefined();
    await tokens.put('code', 'c', 1_000);
    const [first, second] = await Promise.all([tokens.take('code'), tokens.take('code')]);
    expect([first, second]).toEqual(['c', undefined]);
    await tokens.put('a', 'x', 1_000);
    await tokens.put('b', 'y', 1_000);
    await tokens.delete(['a', 'b']);
    expect([await tokens.get('a'), await tokens.get('b')]).toEqual([undefined, undefined]);
  });

  it('bounds every store', async () => {
    const stores = createMemoryStores({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) await stores.kvm.put('m', `k${i}`, 'v');
    expect(await stores.kvm.get('m', 'k0')).toBeUndefined();
    expect(await stores.kvm.get('m', 'k9')).toBe('v');
    await stores.close();
  });
});

describe('MemoryStores.admit', () => {
  const now = 600_000;
  const bucket = (key: string, capacity: number): AdmissionOp => ({
    kind: 'bucket',
    take: { key, weight: 1, capacity, refillPerMs: 0, nowMs: now },
  });
  const quota = (key: string, limit: number): AdmissionOp => ({
    kind: 'quota',
    request: { key, kind: 'fixed', weight: 1, limit, windowMs: 60_000, windowStartMs: now, nowMs: now },
  });

  it('applies the ops in order and answers each', async () => {
    const stores = createMemoryStores(() => now);
    expect(await stores.admit([bucket('s', 2), quota('q', 5)])).toEqual([
      { kind: 'bucket', admitted: true },
      { kind: 'quota', admitted: true, used: 1, windowEndMs: 660_000 },
    ]);
    expect(await stores.counters.get('q')).toBe(1);
  });

  it('stops at the first refusal: later ops are not applied, earlier ones stay applied', async () => {
    const stores = createMemoryStores(() => now);
    await stores.admit([bucket('s', 1), quota('q', 5)]);
    expect(await stores.admit([bucket('s', 1), quota('q', 5)])).toEqual([{ kind: 'bucket', admitted: false }]);
    expect(await stores.counters.get('q')).toBe(1);
    // A refused quota after an admitted take: the token stays taken.
    expect(await stores.admit([bucket('t', 2), quota('full', 0), bucket('u', 1)])).toEqual([
      { kind: 'bucket', admitted: true },
      { kind: 'quota', admitted: false, used: 0, windowEndMs: 660_000 },
    ]);
    expect(await stores.buckets.take('t', 1, 2, 0, now)).toBe(true);
    expect(await stores.buckets.take('t', 1, 2, 0, now)).toBe(false);
    expect(await stores.buckets.take('u', 1, 1, 0, now)).toBe(true);
    expect(await stores.admit([])).toEqual([]);
  });
});
