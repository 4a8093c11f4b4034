// The log line shape (docs/operations.md#logs): level by name and ISO time by default, pino's numeric
// level and epoch milliseconds with GATEHOUSE_LOG_FORMAT=pino.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { logFormatOptions, type LogFormat } from './log.ts';

function lineOf(format: LogFormat): Record<string, unknown> {
  let out = '';
  pino({ base: {}, ...logFormatOptions(format) }, { write: (l: string) => void (out = l) }).warn('hello');
  return JSON.parse(out) as Record<string, unknown>;
}

describe('log line shape', () => {
  it('json (default): level as its name, time as ISO 8601 UTC', () => {
    const line = lineOf('json');
    expect(line.level).toBe('warn');
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('pino: numeric level, epoch milliseconds', () => {
    const line = lineOf('pino');
    expect(line.level).toBe(40);
    expect(typeof line.time).toBe('number');
  });
});
