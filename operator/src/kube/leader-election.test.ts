import { pino } from 'pino';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { LeaderElectionConfigError } from './errors.ts';
import { LeaderElector, LeaseObservation, microTime, validateTimings } from './leader-election.ts';
import { KubeRest } from './rest.ts';

const record = (renewTime: string, extra: Record<string, unknown> = {}) => ({
  holderIdentity: 'a',
  leaseDurationSeconds: 15,
  acquireTime: '2026-01-01T00:00:00.000000Z',
  renewTime,
  leaseTransitions: 1,
  ...extra,
});

describe('LeaseObservation (local-clock lease expiry)', () => {
  it('holds the lease for leaseDurationSeconds after the record last changed, on the local clock', () => {
    const seen = new LeaseObservation();
    expect(seen.valid(0, 15_000)).toBe(false);
    expect(seen.observe(record('2026-01-01T00:00:01.000000Z'), 1_000)).toBe(true);
    expect(seen.holder).toBe('a');
    expect(seen.valid(15_999, 15_000)).toBe(true);
    // The same record read again does not extend the term...
    expect(seen.observe(record('2026-01-01T00:00:01.000000Z'), 10_000)).toBe(false);
    expect(seen.valid(16_000, 15_000)).toBe(false);
    // ...a renewal does, whatever its timestamp says (remote clocks are never compared with ours).
    expect(seen.observe(record('1999-01-01T00:00:00.000000Z'), 17_000)).toBe(true);
    expect(seen.valid(31_999, 15_000)).toBe(true);
    expect(seen.valid(32_000, 15_000)).toBe(false);
  });

  it("uses the record's leaseDurationSeconds (a released lease: 1 s) and falls back to ours without one", () => {
    const seen = new LeaseObservation();
    seen.observe(record('t1', { holderIdentity: '', leaseDurationSeconds: 1 }), 0);
    expect(seen.holder).toBeUndefined();
    expect(seen.valid(999, 15_000)).toBe(true);
    expect(seen.valid(1_000, 15_000)).toBe(false);
    seen.observe(record('t2', { leaseDurationSeconds: undefined }), 5_000);
    expect(seen.valid(7_999, 3_000)).toBe(true);
    expect(seen.valid(8_000, 3_000)).toBe(false);
  });

  it('notices a change of any field of the record', () => {
    const seen = new LeaseObservation();
    seen.observe(record('t'), 0);
    expect(seen.observe(record('t', { leaseTransitions: 2 }), 1)).toBe(true);
    expect(seen.observe(record('t', { leaseTransitions: 2, holderIdentity: 'b' }), 2)).toBe(true);
    expect(seen.observe(record('t', { leaseTransitions: 2, holderIdentity: 'b', somethingElse: 'x' }), 3)).toBe(false);
  });
});

describe('leader election settings', () => {
  it('writes MicroTime with six fractional digits', () => {
    expect(microTime(new Date('2026-03-04T05:06:07.089Z'))).toBe('2026-03-04T05:06:07.089000Z');
  });

  it('rejects timings that could make two leaders, as client-go does', () => {
    expect(() =>
      validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).not.toThrow();
    expect(() => validateTimings({ leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 })).not.toThrow();
    expect(() => validateTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toThrow(
      /leaseDuration .* greater than renewDeadline/,
    );
    expect(() => validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 })).toThrow(
      /1.2 x retryPeriod/,
    );
    expect(() => validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 })).toThrow(
      LeaderElectionConfigError,
    );
  });

  it('refuses to start without an identity or with bad timings', () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromClusterAndUser({ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: false }, { name: 'u' });
    const base = {
      rest: new KubeRest(kc),
      namespace: 'ns',
      name: 'lease',
      log: pino({ level: 'silent' }),
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    };
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity/);
    expect(() => new LeaderElector({ ...base, identity: 'x', leaseDurationMs: 5_000 })).toThrow(
      LeaderElectionConfigError,
    );
    try {
      new LeaderElector({ ...base, identity: 'x', renewDeadlineMs: 20_000 });
    } catch (err) {
      expect(err).toMatchObject({ code: 'GH_ERR_KUBE_LEADER_ELECTION_CONFIG', exitCode: 2 });
    }
  });
});
