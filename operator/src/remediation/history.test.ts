import { describe, expect, it } from 'vitest';
import { budgetUsage, mergeRecords, readRecords, record, MAX_RECORDS } from './history.ts';
import { at, MIN } from './pods.test-support.ts';

describe('remediation history', () => {
  it('merges lists without duplicates, oldest first, keeping the newest 32', () => {
    const a = record(at(0), 'p1', 'NotReady: x', 'Evict');
    const b = record(at(MIN), 'p2', 'CrashLoop: y', 'Evict');
    const c = record(at(MIN), 'p3', 'CrashLoop: y', 'ForceDelete');
    expect(mergeRecords([b, a], [a, c])).toEqual([a, b, c]);
    const many = Array.from({ length: 40 }, (_, i) => record(at(i * MIN), `p${i}`, 'r', 'Evict'));
    const kept = mergeRecords(many);
    expect(kept).toHaveLength(MAX_RECORDS);
    expect(kept[0]!.pod).toBe('p8');
    expect(kept.at(-1)!.pod).toBe('p39');
  });

  it('treats the same moment written with and without milliseconds as one entry', () => {
    const a = { time: '2026-03-01T10:00:00Z', pod: 'p', reason: 'r', action: 'Evict' };
    const b = { time: '2026-03-01T10:00:00.000Z', pod: 'p', reason: 'r', action: 'Evict' };
    expect(mergeRecords([a], [b])).toEqual([a]);
  });

  it('reads only well-formed entries from a status', () => {
    const good = record(at(0), 'p', 'r', 'Evict');
    expect(
      readRecords({
        remediations: [good, { time: 'yesterday', pod: 'p', reason: 'r', action: 'Evict' }, null, 'x', { pod: 'p' }],
      }),
    ).toEqual([good]);
    expect(readRecords(undefined)).toEqual([]);
    expect(readRecords({ remediations: 'no' })).toEqual([]);
  });

  it("cuts reasons to the CRD's 1024 characters", () => {
    expect(record(at(0), 'p', 'x'.repeat(2000), 'Evict').reason).toHaveLength(1024);
  });

  it("counts the last hour's real actions, or in dry run the reports", () => {
    const list = [
      record(at(-61 * MIN), 'old', 'r', 'Evict'),
      record(at(-30 * MIN), 'e', 'r', 'Evict'),
      record(at(-20 * MIN), 'f', 'r', 'ForceDelete'),
      record(at(-10 * MIN), 'd', 'r', 'DryRunEvict'),
      // Another replica's clock ahead of ours: counted, to err on the safe side.
      record(at(5 * MIN), 'future', 'r', 'Evict'),
    ];
    expect(budgetUsage(list, at(0), false).map((r) => r.pod)).toEqual(['e', 'f', 'future']);
    expect(budgetUsage(list, at(0), true).map((r) => r.pod)).toEqual(['d']);
  });
});
