import { describe, expect, it } from 'vitest';
import {
  autoscalerChangeRecords,
  capacityCondition,
  FlapDetector,
  MAX_AUTOSCALER_CHANGES,
  readAutoscalerChanges,
  unschedulablePods,
} from './capacity.ts';
import { desiredReplicas } from './pods.ts';
import { at, MIN, pod } from './pods.test-support.ts';

describe('unschedulablePods', () => {
  it('names Pending pods the scheduler could not place, with its message', () => {
    const pods = [
      pod({
        name: 'b',
        phase: 'Pending',
        scheduled: { reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' },
      }),
      pod({
        name: 'a',
        phase: 'Pending',
        scheduled: { reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' },
      }),
      // Still being scheduled, or scheduled: not a capacity problem.
      pod({ name: 'c', phase: 'Pending', scheduled: { reason: 'SchedulerError', message: 'x' } }),
      pod({ name: 'd', phase: 'Pending' }),
      pod({ name: 'e' }),
      pod({ name: 'f', phase: 'Pending', deletedAt: 0, scheduled: { reason: 'Unschedulable', message: 'gone soon' } }),
    ];
    expect(unschedulablePods(pods)).toEqual([
      { name: 'a', message: '0/3 nodes are available: 3 Insufficient memory.' },
      { name: 'b', message: '0/3 nodes are available: 3 Insufficient cpu.' },
    ]);
  });
});

describe('FlapDetector', () => {
  it('counts changes of the desired replicas, not repeats of the same value', () => {
    const d = new FlapDetector({ maxChanges: 2, windowMs: 10 * MIN });
    expect(d.observe('shop/eu-envoy', 2, at(0))).toBe(false); // the first value seen is no change
    expect(d.observe('shop/eu-envoy', 2, at(MIN))).toBe(false);
    expect(d.observe('shop/eu-envoy', 3, at(2 * MIN))).toBe(true);
    expect(d.observe('shop/eu-envoy', undefined, at(2 * MIN))).toBe(false);
    expect(d.observe('shop/eu-envoy', 2, at(3 * MIN))).toBe(true);
    expect(d.flapping('shop/eu-envoy', at(3 * MIN))).toBeUndefined(); // 2 changes: at most maxChanges
    d.observe('shop/eu-envoy', 4, at(4 * MIN));
    expect(d.flapping('shop/eu-envoy', at(4 * MIN))).toEqual({
      key: 'shop/eu-envoy',
      changes: 3,
      values: [2, 3, 2, 4],
      oldestExpiresAt: at(12 * MIN),
    });
  });

  it('forgets changes older than the window (fake clock)', () => {
    const d = new FlapDetector({ maxChanges: 2, windowMs: 10 * MIN });
    for (let i = 0; i <= 3; i++) d.observe('k', i % 2 === 0 ? 2 : 3, at(i * MIN));
    expect(d.flapping('k', at(11 * MIN - 1))?.changes).toBe(3);
    // The change at 1 min leaves the window at 11 min.
    expect(d.flapping('k', at(11 * MIN))).toBeUndefined();
  });

  it('keeps histories apart and forgets a deleted autoscaler', () => {
    const d = new FlapDetector({ maxChanges: 1, windowMs: 10 * MIN });
    for (const [i, v] of [1, 2, 1].entries()) d.observe('a', v, at(i * MIN));
    d.observe('b', 1, at(0));
    expect(d.flapping('a', at(3 * MIN))?.changes).toBe(2);
    expect(d.flapping('b', at(3 * MIN))).toBeUndefined();
    d.forget('a');
    expect(d.flapping('a', at(3 * MIN))).toBeUndefined();
    // After forgetting, the next value is a fresh baseline.
    expect(d.observe('a', 5, at(4 * MIN))).toBe(false);
  });

  it('uses 6 changes in 30 minutes by default', () => {
    const d = new FlapDetector();
    for (let i = 0; i <= 6; i++) d.observe('k', 2 + (i % 2), at(i * MIN));
    expect(d.flapping('k', at(6 * MIN))).toBeUndefined();
    d.observe('k', 9, at(7 * MIN));
    expect(d.flapping('k', at(7 * MIN))?.changes).toBe(7);
    expect(d.windowMs).toBe(30 * MIN);
  });
});

describe('the flapping history in status.autoscalerChanges', () => {
  it('survives a restart: a new detector reads what happened before it watched, and counts the same', () => {
    const before = new FlapDetector({ maxChanges: 2, windowMs: 10 * MIN });
    for (const [i, v] of [2, 3, 2, 3].entries()) before.observe('shop/eu-envoy', v, at(i * MIN));
    const status = {
      autoscalerChanges: autoscalerChangeRecords(new Map([['eu-envoy', before.recent('shop/eu-envoy', at(3 * MIN))]])),
    };
    expect(status.autoscalerChanges[0]).toEqual({
      autoscaler: 'eu-envoy',
      time: at(MIN).toISOString(),
      from: 2,
      to: 3,
    });
    const after = new FlapDetector({ maxChanges: 2, windowMs: 10 * MIN });
    after.observe('shop/eu-envoy', 3, at(4 * MIN)); // the informer's first add: no change
    after.restore('shop/eu-envoy', readAutoscalerChanges(status).get('eu-envoy')!, at(4 * MIN));
    after.restore('shop/eu-envoy', readAutoscalerChanges(status).get('eu-envoy')!, at(4 * MIN)); // idempotent
    expect(after.flapping('shop/eu-envoy', at(4 * MIN))).toEqual(before.flapping('shop/eu-envoy', at(4 * MIN)));
    after.observe('shop/eu-envoy', 2, at(5 * MIN));
    expect(after.flapping('shop/eu-envoy', at(5 * MIN))?.values).toEqual([2, 3, 2, 3, 2]);
  });

  it("takes from the status only what happened before it watched: another replica's copies of its own observations are not counted twice", () => {
    const d = new FlapDetector({ maxChanges: 5, windowMs: 10 * MIN });
    d.observe('k', 2, at(0));
    d.observe('k', 3, at(MIN));
    // The old leader saw the same change 5 ms earlier, and one before this process started.
    d.restore(
      'k',
      [
        { at: at(-MIN).getTime(), from: 3, to: 2 },
        { at: at(MIN - 5).getTime(), from: 2, to: 3 },
      ],
      at(2 * MIN),
    );
    expect(d.recent('k', at(2 * MIN)).map((c) => c.at - at(0).getTime())).toEqual([-MIN, MIN]);
  });

  it('drops malformed entries and keeps the newest 64', () => {
    const read = readAutoscalerChanges({
      autoscalerChanges: [
        { autoscaler: 'a', time: 'yesterday', from: 1, to: 2 },
        { autoscaler: 'a', time: at(0).toISOString(), from: '1', to: 2 },
        { autoscaler: 'a', time: at(0).toISOString(), from: 1, to: 2 },
        null,
      ],
    });
    expect(read).toEqual(new Map([['a', [{ at: at(0).getTime(), from: 1, to: 2 }]]]));
    const many = Array.from({ length: 100 }, (_, i) => ({ at: at(i).getTime(), from: i % 2, to: (i + 1) % 2 }));
    const records = autoscalerChangeRecords(new Map([['a', many]]));
    expect(records).toHaveLength(MAX_AUTOSCALER_CHANGES);
    expect(records.at(-1)!.time).toBe(at(99).toISOString());
  });
});

describe('capacityCondition', () => {
  const flap = { key: 'shop/eu-extproc', changes: 7, values: [2, 3, 2, 3, 2, 3, 2, 3], oldestExpiresAt: at(30 * MIN) };

  it('is True when pods are placed and nothing flaps', () => {
    expect(capacityCondition([], [], 30 * MIN)).toEqual({
      condition: {
        type: 'CapacityOK',
        status: 'True',
        reason: 'Sufficient',
        message: 'every data-plane pod is scheduled and no autoscaler is flapping',
      },
    });
  });

  it("is False/Unschedulable naming the pods and the scheduler's message", () => {
    const a = capacityCondition(
      [{ name: 'eu-envoy-x', message: '0/3 nodes are available: 3 Insufficient cpu.' }],
      [],
      30 * MIN,
    );
    expect(a.condition).toEqual({
      type: 'CapacityOK',
      status: 'False',
      reason: 'Unschedulable',
      message: '1 pod cannot be scheduled: eu-envoy-x: 0/3 nodes are available: 3 Insufficient cpu.',
    });
  });

  it('is False/AutoscalerFlapping, and says when to look again', () => {
    const a = capacityCondition([], [flap], 30 * MIN);
    expect(a.condition).toEqual({
      type: 'CapacityOK',
      status: 'False',
      reason: 'AutoscalerFlapping',
      message:
        'HorizontalPodAutoscaler eu-extproc changed its desired replicas 7 times in 30m (2 → 3 → 2 → 3 → 2 → 3 → 2 → 3)',
    });
    expect(a.recheckAt).toEqual(at(30 * MIN));
  });

  it('reports both, Unschedulable first', () => {
    const a = capacityCondition([{ name: 'p', message: 'm' }], [flap], 30 * MIN);
    expect(a.condition.reason).toBe('Unschedulable');
    expect(a.condition.message).toContain('HorizontalPodAutoscaler eu-extproc');
  });

  it('lists at most ten pods', () => {
    const pods = Array.from({ length: 12 }, (_, i) => ({ name: `p${String(i).padStart(2, '0')}`, message: 'm' }));
    expect(capacityCondition(pods, [], MIN).condition.message).toMatch(
      /^12 pods cannot be scheduled: .*p09: m; and 2 more$/,
    );
  });
});

describe('desiredReplicas', () => {
  it("ignores the 0 the apiserver writes into a new HPA's status, unless the HPA may scale to zero", () => {
    const hpa = (minReplicas: number | undefined, desired: number | undefined) => ({
      metadata: { name: 'h' },
      spec: { minReplicas },
      status: desired === undefined ? undefined : { desiredReplicas: desired },
    });
    expect(desiredReplicas(hpa(2, 0))).toBeUndefined();
    expect(desiredReplicas(hpa(undefined, 0))).toBeUndefined();
    expect(desiredReplicas(hpa(0, 0))).toBe(0);
    expect(desiredReplicas(hpa(2, 3))).toBe(3);
    expect(desiredReplicas(hpa(2, undefined))).toBeUndefined();
  });
});
