import { describe, expect, it } from 'vitest';
import { defaultAnchor, windowAt, windowLengthMs } from './windows.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const win = (now: string, interval: number, unit: Parameters<typeof windowAt>[2], anchor?: string) => {
  const w = windowAt(at(now), interval, unit, anchor === undefined ? defaultAnchor(unit) : at(anchor));
  return [iso(w.startMs), iso(w.endMs)];
};

describe('calendar windows', () => {
  it('align minutes, hours and days to the clock', () => {
    expect(win('2026-03-10T10:15:59.999Z', 1, 'minute')).toEqual([
      '2026-03-10T10:15:00.000Z',
      '2026-03-10T10:16:00.000Z',
    ]);
    expect(win('2026-03-10T10:16:00.000Z', 1, 'minute')).toEqual([
      '2026-03-10T10:16:00.000Z',
      '2026-03-10T10:17:00.000Z',
    ]);
    expect(win('2026-03-10T10:59:59.999Z', 1, 'hour')).toEqual([
      '2026-03-10T10:00:00.000Z',
      '2026-03-10T11:00:00.000Z',
    ]);
    expect(win('2026-03-10T23:59:59.999Z', 1, 'day')).toEqual(['2026-03-10T00:00:00.000Z', '2026-03-11T00:00:00.000Z']);
    expect(win('2026-03-10T10:16:00.000Z', 5, 'minute')).toEqual([
      '2026-03-10T10:15:00.000Z',
      '2026-03-10T10:20:00.000Z',
    ]);
  });

  it('starts weeks on Monday and months on the 1st', () => {
    // 2026-03-10 is a Tuesday.
    expect(win('2026-03-10T10:00:00Z', 1, 'week')).toEqual(['2026-03-09T00:00:00.000Z', '2026-03-16T00:00:00.000Z']);
    expect(win('2026-03-15T23:59:59.999Z', 1, 'week')).toEqual([
      '2026-03-09T00:00:00.000Z',
      '2026-03-16T00:00:00.000Z',
    ]);
    expect(win('2026-03-16T00:00:00Z', 1, 'week')).toEqual(['2026-03-16T00:00:00.000Z', '2026-03-23T00:00:00.000Z']);
    expect(win('2026-02-28T23:59:59.999Z', 1, 'month')).toEqual([
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    expect(win('2026-03-01T00:00:00Z', 1, 'month')).toEqual(['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
    expect(win('2026-05-20T00:00:00Z', 3, 'month')).toEqual(['2026-04-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z']);
  });

  it('counts from startTime', () => {
    const start = '2026-01-01T08:30:00Z';
    expect(win('2026-01-01T09:29:59Z', 1, 'hour', start)).toEqual([
      '2026-01-01T08:30:00.000Z',
      '2026-01-01T09:30:00.000Z',
    ]);
    expect(win('2026-01-01T09:30:00Z', 1, 'hour', start)).toEqual([
      '2026-01-01T09:30:00.000Z',
      '2026-01-01T10:30:00.000Z',
    ]);
    expect(win('2026-01-02T08:29:59Z', 1, 'day', start)).toEqual([
      '2026-01-01T08:30:00.000Z',
      '2026-01-02T08:30:00.000Z',
    ]);
    expect(win('2026-02-15T08:29:59Z', 1, 'month', '2026-01-15T08:30:00Z')).toEqual([
      '2026-01-15T08:30:00.000Z',
      '2026-02-15T08:30:00.000Z',
    ]);
    expect(win('2026-02-15T08:30:00Z', 1, 'month', '2026-01-15T08:30:00Z')).toEqual([
      '2026-02-15T08:30:00.000Z',
      '2026-03-15T08:30:00.000Z',
    ]);
    // The 31st clamps to the end of shorter months.
    expect(win('2026-02-28T12:00:00Z', 1, 'month', '2026-01-31T00:00:00Z')).toEqual([
      '2026-02-28T00:00:00.000Z',
      '2026-03-31T00:00:00.000Z',
    ]);
  });

  it('gives rolling and flexi windows a fixed length', () => {
    expect(windowLengthMs(2, 'hour')).toBe(7_200_000);
    expect(windowLengthMs(1, 'month')).toBe(30 * 86_400_000);
  });
});
