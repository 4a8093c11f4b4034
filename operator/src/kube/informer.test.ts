import { describe, expect, it } from 'vitest';
import { Backoff } from './informer.ts';

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
