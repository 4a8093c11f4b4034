import { describe, expect, it } from 'vitest';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from './rate-limiter.ts';

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles per failure of a key from 5 ms, independently per key, and starts over after forget', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>();
    expect([1, 2, 3, 4, 5].map(() => limiter.when('a'))).toEqual([5, 10, 20, 40, 80]);
    expect(limiter.numRequeues('a')).toBe(5);
    expect(limiter.when('b')).toBe(5);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
    expect(limiter.when('a')).toBe(5);
  });

  it('caps at the maximum (1000 s by default), even after very many failures', () => {
    const small = new ItemExponentialFailureRateLimiter<string>(1, 10);
    expect([1, 2, 3, 4, 5, 6].map(() => small.when('k'))).toEqual([1, 2, 4, 8, 10, 10]);
    const big = new ItemExponentialFailureRateLimiter<string>();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = big.when('k');
    expect(last).toBe(1_000_000);
    expect(big.numRequeues('k')).toBe(2000);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then spaces reservations 1/qps apart, refilling with time', () => {
    let now = 0;
    const limiter = new BucketRateLimiter<string>(10, 2, () => now);
    expect([limiter.when('a'), limiter.when('b'), limiter.when('c'), limiter.when('d')]).toEqual([0, 0, 100, 200]);
    expect(limiter.numRequeues('a')).toBe(0);
    // 250 ms later 2.5 tokens came back; two were owed: the next waits 50 ms.
    now = 250;
    expect(limiter.when('e')).toBeCloseTo(50, 9);
    // A long pause refills to the burst, not beyond.
    now = 10_000;
    expect([limiter.when('f'), limiter.when('g'), limiter.when('h')]).toEqual([0, 0, 100]);
  });

  it('refills nothing when the clock goes backwards', () => {
    let now = 1000;
    const limiter = new BucketRateLimiter<string>(1, 1, () => now);
    expect(limiter.when('a')).toBe(0);
    now = 500;
    expect(limiter.when('a')).toBe(1000);
  });
});

describe('MaxOfRateLimiter and the default controller rate limiter', () => {
  it('takes the longest delay, the highest requeue count, and forgets in all', () => {
    let now = 0;
    const limiter = new MaxOfRateLimiter<string>(
      new ItemExponentialFailureRateLimiter<string>(5, 1_000_000),
      new BucketRateLimiter<string>(10, 3, () => now),
    );
    expect([limiter.when('a'), limiter.when('a'), limiter.when('a')]).toEqual([5, 10, 20]);
    // The bucket is empty now: it dominates the per-key backoff of a fresh key.
    expect(limiter.when('b')).toBe(100);
    expect(limiter.numRequeues('a')).toBe(3);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
    now = 60_000;
    expect(limiter.when('a')).toBe(5);
  });

  it('is 5 ms doubling per key while the 100-token bucket lasts', () => {
    const limiter = defaultControllerRateLimiter<string>();
    expect([limiter.when('x'), limiter.when('x'), limiter.when('y')]).toEqual([5, 10, 5]);
  });
});
