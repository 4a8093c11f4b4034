import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.ts';
import {
  formatDuration,
  formatHostPort,
  parseBool,
  parseDuration,
  parseHostPort,
  parsePort,
  parsePositiveInt,
  parseText,
  parseWholeNumber,
} from './flags.ts';

describe('flag parsers', () => {
  it('ports: 0-65535, digits only', () => {
    expect(parsePort('0')).toBe(0);
    expect(parsePort('65535')).toBe(65535);
    for (const bad of ['65536', '-1', '80a', '', ' 80', '1e3', '123456'])
      expect(() => parsePort(bad), bad).toThrow(UsageError);
  });

  it('HOST:PORT, IPv6 in brackets, formatted back the same way', () => {
    expect(parseHostPort('gatehouse-xds.ns.svc:18000')).toEqual({ host: 'gatehouse-xds.ns.svc', port: 18000 });
    expect(parseHostPort('[::1]:9002')).toEqual({ host: '::1', port: 9002 });
    expect(formatHostPort({ host: '::1', port: 9002 })).toBe('[::1]:9002');
    expect(formatHostPort({ host: '10.0.0.1', port: 80 })).toBe('10.0.0.1:80');
    for (const bad of ['no-port', '::1:9002', 'h:', 'h:99999', ':80', 'a b:1', '[::1]'])
      expect(() => parseHostPort(bad), bad).toThrow(/is not HOST:PORT/);
  });

  it('durations in milliseconds, and back in the largest whole unit', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    for (const bad of ['15', 's', '1d', '-1s', '1 s']) expect(() => parseDuration(bad), bad).toThrow(UsageError);
    expect([15_000, 60_000, 90_000, 7_200_000, 1500, 0].map(formatDuration)).toEqual([
      '15s',
      '1m',
      '90s',
      '2h',
      '1500ms',
      '0ms',
    ]);
    for (const ms of [15_000, 90_000, 1500, 3_600_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it('booleans are true or false; counts are positive whole numbers; text is not blank', () => {
    expect([parseBool('true'), parseBool('false')]).toEqual([true, false]);
    for (const bad of ['yes', '1', 'True', '']) expect(() => parseBool(bad), bad).toThrow(/is not true or false/);
    expect(parsePositiveInt('1')).toBe(1);
    for (const bad of ['0', '-2', '1.5', 'x', '99999999999999999999'])
      expect(() => parsePositiveInt(bad), bad).toThrow(/positive whole number/);
    expect([parseWholeNumber('0'), parseWholeNumber('12')]).toEqual([0, 12]);
    for (const bad of ['-1', '1.5', 'x', '', '99999999999999999999'])
      expect(() => parseWholeNumber(bad), bad).toThrow(/is not a whole number \(0 or more\)/);
    expect(parseText('a')).toBe('a');
    expect(() => parseText('  ')).toThrow(/needs a value/);
  });
});
