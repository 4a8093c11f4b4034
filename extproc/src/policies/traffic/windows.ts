// Quota windows (Apigee's calendar semantics): second to week are fixed lengths counted from an
// anchor; months are calendar months (UTC) counted from the anchor's day and time of day. Without a
// startTime the anchor is the clock's: minute, hour and day windows start on the minute, hour and
// UTC day, weeks on Monday 00:00 UTC, months on the 1st.
import type { TimeUnit } from '../../../../protos/policies/traffic/rate-limit-common.ts';

const UNIT_MS: Record<Exclude<TimeUnit, 'month'>, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/** 1970-01-05 was a Monday. */
const MONDAY_ANCHOR = Date.UTC(1970, 0, 5);

export interface Window {
  startMs: number;
  endMs: number;
}

export function defaultAnchor(unit: TimeUnit): number {
  return unit === 'week' ? MONDAY_ANCHOR : 0;
}

/** The window of `interval` `unit`s, aligned to `anchorMs`, that contains `nowMs`. */
export function windowAt(nowMs: number, interval: number, unit: TimeUnit, anchorMs: number): Window {
  if (unit !== 'month') {
    const length = interval * UNIT_MS[unit];
    const startMs = anchorMs + Math.floor((nowMs - anchorMs) / length) * length;
    return { startMs, endMs: startMs + length };
  }
  const anchor = new Date(anchorMs);
  const now = new Date(nowMs);
  let months = (now.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + now.getUTCMonth() - anchor.getUTCMonth();
  if (addMonths(anchorMs, months) > nowMs) months--;
  const first = Math.floor(months / interval) * interval;
  return { startMs: addMonths(anchorMs, first), endMs: addMonths(anchorMs, first + interval) };
}

/** The anchor moved `months` calendar months; a day past the month's end clamps to its last day. */
function addMonths(anchorMs: number, months: number): number {
  const a = new Date(anchorMs);
  const year = a.getUTCFullYear() + Math.floor((a.getUTCMonth() + months) / 12);
  const month = (((a.getUTCMonth() + months) % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(
    year,
    month,
    Math.min(a.getUTCDate(), lastDay),
    a.getUTCHours(),
    a.getUTCMinutes(),
    a.getUTCSeconds(),
    a.getUTCMilliseconds(),
  );
}

/** The length of one window, for rolling and flexi windows (a month counts as 30 days there). */
export function windowLengthMs(interval: number, unit: TimeUnit): number {
  return interval * (unit === 'month' ? 30 * UNIT_MS.day : UNIT_MS[unit]);
}
