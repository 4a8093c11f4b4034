import { describe, expect, it } from 'vitest';
import type { PlannedAction } from './planner.ts';
import { disposition, podsHealthyCondition } from './status.ts';
import { pod } from './pods.test-support.ts';

const subject = { pod: pod({ name: 'a' }), zombie: 'NotReady' as const, message: 'm' };

describe('PodsHealthy', () => {
  it('is True without zombies', () => {
    expect(podsHealthyCondition([], true)).toEqual({
      type: 'PodsHealthy',
      status: 'True',
      reason: 'NoZombies',
      message: 'no data-plane pod is a zombie',
    });
  });

  it('names each zombie, why, and what is done about it', () => {
    const c = podsHealthyCondition(
      [
        { pod: 'b', kind: 'DeepCheckFailed', message: 'health: NOT_SERVING', disposition: 'waiting (MinAvailable: x)' },
        { pod: 'a', kind: 'NotReady', message: 'since t', disposition: 'evicted' },
      ],
      true,
    );
    expect(c).toEqual({
      type: 'PodsHealthy',
      status: 'False',
      reason: 'ZombiePods',
      message:
        '2 zombie pods: a (NotReady: since t): evicted; b (DeepCheckFailed: health: NOT_SERVING): waiting (MinAvailable: x)',
    });
  });

  it('says when remediation is off', () => {
    expect(podsHealthyCondition([{ pod: 'a', kind: 'CrashLoop', message: 'm', disposition: '' }], false).message).toBe(
      '1 zombie pod: a (CrashLoop: m): not remediated, spec.remediation.enabled is false',
    );
  });

  it('describes every kind of decision', () => {
    const cases: [PlannedAction, Parameters<typeof disposition>[1], string][] = [
      [{ ...subject, type: 'evict' }, { result: 'done' }, 'evicted'],
      [{ ...subject, type: 'force-delete' }, { result: 'done' }, 'force-deleted'],
      [
        { ...subject, type: 'evict' },
        { result: 'refused', message: 'PDB says no' },
        'waiting (EvictionRefused: PDB says no)',
      ],
      [
        { ...subject, type: 'evict' },
        { result: 'failed', message: '403 Forbidden: no' },
        'evict failed: 403 Forbidden: no',
      ],
      [{ ...subject, type: 'evict' }, { result: 'gone' }, 'already gone'],
      [{ ...subject, type: 'report', would: 'force-delete', fresh: true }, undefined, 'dry run: would force-delete'],
      [{ ...subject, type: 'wait', reason: 'BudgetExhausted', detail: 'd' }, undefined, 'waiting (BudgetExhausted: d)'],
    ];
    for (const [action, outcome, text] of cases) expect(disposition(action, outcome)).toBe(text);
  });
});
