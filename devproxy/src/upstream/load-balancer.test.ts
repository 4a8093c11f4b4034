import { describe, expect, it } from 'vitest';
import { LoadBalancer, type Host } from './load-balancer.ts';

const hosts = (...active: number[]): Host[] => active.map((a, i) => ({ host: `10.0.0.${i}`, port: 80, active: a }));

describe('load balancer', () => {
  it('round robin cycles through the hosts in order', () => {
    const lb = new LoadBalancer('ROUND_ROBIN');
    const h = hosts(0, 0, 0);
    expect([0, 1, 2, 3].map(() => lb.pick(h)!.host)).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.0']);
  });

  it('least request never picks the busier of two when one host is idle and the other loaded', () => {
    const lb = new LoadBalancer('LEAST_REQUEST');
    const h = hosts(0, 50);
    const picks = Array.from({ length: 200 }, () => lb.pick(h)!.host);
    // Power of two choices: the loaded host wins only when both draws hit it (about 1 in 4).
    expect(picks.filter((p) => p === '10.0.0.0').length).toBeGreaterThan(100);
  });

  it('random spreads over every host; nothing to pick from an empty set', () => {
    const lb = new LoadBalancer('RANDOM');
    const h = hosts(0, 0, 0);
    expect(new Set(Array.from({ length: 300 }, () => lb.pick(h)!.host)).size).toBe(3);
    expect(lb.pick([])).toBeUndefined();
  });
});
