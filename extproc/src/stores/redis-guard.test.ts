import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { RedisGuard, type OnUnavailable } from './redis-guard.ts';
import { StoreMetrics } from './store-metrics.ts';
import { StoreUnavailableError } from './types.ts';

const guard = (onUnavailable: OnUnavailable, metrics = new StoreMetrics()) =>
  new RedisGuard({
    deadlineMs: 20,
    onUnavailable,
    failureThreshold: 2,
    openMs: 60_000,
    metrics,
    log: pino({ level: 'silent' }),
  });
const never = () => new Promise<string>(() => {});
const local = () => Promise.resolve('local');

describe('RedisGuard', () => {
  it('answers from Redis when it answers in time', async () => {
    expect(await guard('FailClosed').run('op', () => Promise.resolve('redis'), local)).toBe('redis');
  });

  it('gives up at the deadline: FailClosed raises StoreUnavailableError, LocalFallback answers locally', async () => {
    // The guard's own clock, faked: it gives up at exactly 20 ms, however busy the machine.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const settledAt = (work: Promise<string>) => {
        const outcome = { settled: false, value: undefined as unknown };
        void work.then(
          (v) => Object.assign(outcome, { settled: true, value: v }),
          (err: unknown) => Object.assign(outcome, { settled: true, value: err }),
        );
        return outcome;
      };
      const closed = settledAt(guard('FailClosed').run('op', never, local));
      const metrics = new StoreMetrics();
      const fallback = settledAt(guard('LocalFallback', metrics).run('op', never, local));
      await vi.advanceTimersByTimeAsync(19);
      expect(closed.settled).toBe(false);
      expect(fallback.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(closed.settled).toBe(true);
      expect(closed.value).toBeInstanceOf(StoreUnavailableError);
      expect(fallback).toMatchObject({ settled: true, value: 'local' });
      expect((await metrics.fallbacks.get()).values[0]).toMatchObject({ value: 1, labels: { op: 'op' } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops calling Redis once the circuit is open', async () => {
    const g = guard('LocalFallback');
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('ECONNREFUSED'));
    };
    for (let i = 0; i < 5; i++) expect(await g.run('op', failing, local)).toBe('local');
    expect(calls).toBe(2);
    expect(g.circuitState).toBe('open');
  });

  it('counts calls issued in the same tick as one round trip', async () => {
    const metrics = new StoreMetrics();
    const g = guard('FailClosed', metrics);
    await Promise.all([
      g.run(
        'a',
        () => Promise.resolve(1),
        () => Promise.resolve(0),
      ),
      g.run(
        'b',
        () => Promise.resolve(2),
        () => Promise.resolve(0),
      ),
    ]);
    await new Promise((r) => setImmediate(r));
    await g.run(
      'c',
      () => Promise.resolve(3),
      () => Promise.resolve(0),
    );
    expect((await metrics.roundTrips.get()).values[0]?.value).toBe(2);
  });
});
