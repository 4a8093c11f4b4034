import { describe, expect, expectTypeOf, it } from 'vitest';
import { UsageError } from '../errors.ts';
import { commandHelp, defineCommand, parseOptions } from './command.ts';
import {
  bool,
  duration,
  hostPort,
  list,
  oneOf,
  port,
  positiveInt,
  repeated,
  text,
  toggle,
  type HostPort,
} from './flags.ts';

const flags = {
  file: text({ short: 'f', value: 'DIR', default: 'here', description: 'a folder' }),
  'metrics-port': port({ default: 9003, description: 'a port' }),
  upstream: hostPort({ description: 'an address' }),
  mode: oneOf(['A', 'B'], { value: 'MODE', default: 'A', description: 'a mode' }),
  'leader-elect': bool({ default: true, description: 'a switch' }),
  wait: duration({ default: 2_000, description: 'a wait' }),
  count: positiveInt({ env: 'TEST_COUNT', description: 'a count' }),
  names: list({ description: 'some names' }),
};
const run = () => Promise.resolve(0);
const plain = defineCommand({ name: 'plain', summary: 's', usage: 'plain', flags, run });

describe('defineCommand', () => {
  it('takes positional arguments only when the command declares them, and hands them to options', () => {
    expect(() => parseOptions(plain, ['stray'])).toThrow(UsageError);
    const withArgs = defineCommand({
      name: 'args',
      summary: 's',
      usage: 'args FORMAT PATH...',
      positionals: { value: 'FORMAT PATH...', description: 'what to read' },
      flags: { out: text({ short: 'o', value: 'DIR', description: 'where' }) },
      options: (v, positionals) => ({ out: v.out, positionals }),
      run,
    });
    expect(parseOptions(withArgs, ['apigee', 'a', '-o', 'x', 'b'])).toEqual({
      out: 'x',
      positionals: ['apigee', 'a', 'b'],
    });
    expect(commandHelp(withArgs)).toContain('Arguments:\n  FORMAT PATH...  what to read\n');
  });

  it('a repeated flag collects every occurrence in order; a toggle takes no value', () => {
    const multi = defineCommand({
      name: 'multi',
      summary: 's',
      usage: 'multi',
      flags: {
        context: repeated({ value: 'NAME', description: 'a context' }),
        all: toggle({ short: 'A', description: 'all' }),
      },
      run,
    });
    expect(parseOptions(multi, ['--context', 'a', '-A', '--context', 'b'])).toEqual({ context: ['a', 'b'], all: true });
    expect(parseOptions(multi, [])).toEqual({ context: undefined, all: undefined });
    expect(() => parseOptions(multi, ['--context', ' '])).toThrow(/gatehouse multi: --context: needs a value/);
    expect(() => parseOptions(multi, ['--all=yes'])).toThrow(/gatehouse multi:/);
    expect(commandHelp(multi)).toMatch(/^ {2}-A, --all {2,}all$/m);
  });

  it('parses every flag into a typed, camelCase value, defaults filled', () => {
    const o = parseOptions(plain, ['-f', 'dir', '--metrics-port', '0', '--upstream', 'h:1', '--names', 'a, b,']);
    expect(o).toEqual({
      file: 'dir',
      metricsPort: 0,
      upstream: { host: 'h', port: 1 },
      mode: 'A',
      leaderElect: true,
      wait: 2000,
      count: undefined,
      names: ['a', 'b'],
    });
    expectTypeOf(o.file).toEqualTypeOf<string>();
    expectTypeOf(o.metricsPort).toEqualTypeOf<number>();
    expectTypeOf(o.upstream).toEqualTypeOf<HostPort | undefined>();
    expectTypeOf(o.mode).toEqualTypeOf<'A' | 'B'>();
    expectTypeOf(o.count).toEqualTypeOf<number | undefined>();
  });

  it('reads a flag from its environment variable when the flag is not given; an empty variable is unset', () => {
    expect(plain.parse([], { TEST_COUNT: '3' })).toMatchObject({ count: 3 });
    expect(plain.parse(['--count', '4'], { TEST_COUNT: '3' })).toMatchObject({ count: 4 });
    expect(plain.parse([], { TEST_COUNT: '' })).toMatchObject({ count: undefined });
    expect(() => plain.parse([], { TEST_COUNT: 'x' })).toThrow(
      'gatehouse plain: $TEST_COUNT (for --count): "x" is not a positive whole number',
    );
  });

  it('usage errors name the command and the flag', () => {
    const fail = (...argv: string[]) => {
      try {
        plain.parse(argv, {});
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        expect((err as UsageError).exitCode).toBe(2);
        return (err as Error).message;
      }
      throw new Error('parsed');
    };
    expect(fail('--metrics-port', 'x')).toBe('gatehouse plain: --metrics-port: "x" is not a port number (0-65535)');
    expect(fail('--mode', 'C')).toBe('gatehouse plain: --mode: "C" is not one of A, B');
    expect(fail('--nope')).toMatch(/^gatehouse plain: Unknown option '--nope'/);
    expect(fail('positional')).toMatch(/^gatehouse plain: .*positional/);
    expect(fail('--file')).toMatch(/^gatehouse plain: Option '-f, --file <value>' argument missing/);
  });

  it('-h/--help asks for help instead of options', () => {
    expect(plain.parse(['--help'])).toBe('help');
    expect(plain.parse(['-f', 'x', '-h'])).toBe('help');
    expect(() => parseOptions(plain, ['-h'])).toThrow(UsageError);
  });

  it('runs the rules across flags after each flag parsed, their usage errors prefixed', () => {
    const ruled = defineCommand({
      name: 'ruled',
      summary: 's',
      usage: 'ruled',
      flags,
      options: (v) => {
        if (v.upstream === undefined) throw new UsageError('--upstream is required');
        return { address: `${v.upstream.host}:${v.upstream.port}` };
      },
      run,
    });
    expect(() => parseOptions(ruled, [])).toThrow('gatehouse ruled: --upstream is required');
    expect(parseOptions(ruled, ['--upstream', 'h:2'])).toEqual({ address: 'h:2' });
  });

  it('help: one line per flag with value, short alias, choices and default', () => {
    expect(commandHelp(plain)).toBe(
      [
        's',
        '',
        'Usage: plain',
        '',
        'Options:',
        '  -f, --file DIR            a folder (default: here)',
        '      --metrics-port PORT   a port (default: 9003)',
        '      --upstream HOST:PORT  an address',
        '      --mode MODE           a mode; one of A, B (default: A)',
        '      --leader-elect BOOL   a switch (default: true)',
        '      --wait DURATION       a wait (default: 2s)',
        '      --count N             a count (default: $TEST_COUNT)',
        '      --names LIST          some names',
        '  -h, --help                show this help',
        '',
      ].join('\n'),
    );
  });
});
