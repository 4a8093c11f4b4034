import { describe, expect, it } from 'vitest';
import { compileTimeFormat, TimeFormatError } from './time-format.ts';

const at = (pattern: string, ms: number) => compileTimeFormat(pattern).format(ms);

describe('time format patterns (Java SimpleDateFormat, UTC)', () => {
  // Apigee's examples: epoch_time 1494390266 (2017-05-10T04:24:26Z) with timeFormatUTC.
  const t = 1_494_390_266_000;

  it('renders the documented examples', () => {
    expect(at('yyyy-MM-dd', t)).toBe('2017-05-10');
    expect(at('yyyy-MM-dd HH-mm-ss', t)).toBe('2017-05-10 04-24-26');
    expect(at('yyyy-MM-dd HH:mm:ss', t)).toBe('2017-05-10 04:24:26');
    expect(at('yyyyMMddHHmmss', t)).toBe('20170510042426');
    expect(at('yyyyMMdd', t)).toBe('20170510');
  });

  it('renders names, 12-hour clocks, milliseconds, zones and quoted text', () => {
    const ms = Date.UTC(2026, 0, 4, 0, 5, 6, 7); // a Sunday, just past midnight
    expect(at("EEE, d MMM yy HH:mm:ss 'GMT'", ms)).toBe('Sun, 4 Jan 26 00:05:06 GMT');
    expect(at('EEEE MMMM', ms)).toBe('Sunday January');
    expect(at('h:mm a K k', ms)).toBe('12:05 AM 0 24');
    expect(at('S SSS', ms)).toBe('7 007');
    expect(at('D F u G', ms)).toBe('4 1 7 AD');
    expect(at("yyyy-MM-dd'T'HH:mm:ss.SSSX", ms)).toBe('2026-01-04T00:05:06.007Z');
    expect(at('z zzzz Z XXX', ms)).toBe('UTC Coordinated Universal Time +0000 Z');
    expect(at("'o''clock' ''", ms)).toBe("o'clock '");
  });

  it('refuses what Java refuses or this formatter does not render', () => {
    expect(() => compileTimeFormat('YYYY')).toThrow(TimeFormatError);
    expect(() => compileTimeFormat('ww')).toThrow('week-based fields are not supported');
    expect(() => compileTimeFormat('yyyy q')).toThrow('"q" is not a pattern letter');
    expect(() => compileTimeFormat("'open")).toThrow('unterminated quote');
    expect(() => compileTimeFormat('XXXX')).toThrow('"X" repeats at most 3 times');
  });

  it('has no answer for an instant outside the Date range', () => {
    expect(at('yyyy', 8.64e15 + 1)).toBeUndefined();
  });
});
