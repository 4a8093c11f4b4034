// A command of the `gatehouse` bin: its flag table (lib/cli/flags.ts), the rules across flags, and the
// function that runs it with the typed options. Each plane declares its commands in a module that
// loads nothing but lib/cli (operator/src/command.ts, ...), and imports its implementation only in
// `run`, so `gatehouse --help` and one plane's commands never load another plane's code.
import { parseArgs } from 'node:util';
import { GatehouseError, UsageError } from '../errors.ts';
import { camelCase, type Flag, type FlagTable, type FlagValues } from './flags.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface CommandSpec<F extends FlagTable, O> {
  name: string;
  /** One line for `gatehouse --help`. */
  summary: string;
  usage: string;
  flags: F;
  /** Arguments after the command that are not flags (`gatehouse import apigee PATH...`); absent: none allowed. */
  positionals?: { value: string; description: string };
  /**
   * Rules across flags and values derived from several (TLS settings, which source): throws
   * UsageError with the reason. Without it the options are the flag values.
   */
  options?: (values: FlagValues<F>, positionals: readonly string[]) => O;
  /** Runs the command; resolves to the exit code (long-running ones resolve at shutdown). */
  run: (options: O) => Promise<number>;
}

export interface Command<O = unknown> {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: FlagTable;
  readonly positionals?: { value: string; description: string };
  /** The typed options from argv (and the environment), or 'help' for -h/--help; throws UsageError. */
  parse(argv: readonly string[], env?: Env): O | 'help';
  run(options: O): Promise<number>;
}

export function defineCommand<F extends FlagTable, O = FlagValues<F>>(spec: CommandSpec<F, O>): Command<O> {
  const usage = (message: string, cause: unknown) =>
    new UsageError(`gatehouse ${spec.name}: ${message}`, cause === undefined ? undefined : { cause });
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    flags: spec.flags,
    ...(spec.positionals ? { positionals: spec.positionals } : {}),
    run: spec.run,
    parse(argv, env = process.env) {
      const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
        help: { type: 'boolean', short: 'h' },
      };
      for (const [name, flag] of Object.entries(spec.flags))
        config[name] = {
          type: flag.toggle ? 'boolean' : 'string',
          ...(flag.short ? { short: flag.short } : {}),
          ...(flag.multiple ? { multiple: true } : {}),
        };
      let given: Record<string, string | boolean | (string | boolean)[] | undefined>;
      let positionals: string[];
      try {
        ({ values: given, positionals } = parseArgs({
          args: [...argv],
          options: config,
          strict: true,
          allowPositionals: spec.positionals !== undefined,
        }));
      } catch (err) {
        throw usage((err as Error).message, err);
      }
      if (given.help) return 'help';
      const values: Record<string, unknown> = {};
      for (const [name, flag] of Object.entries(spec.flags)) {
        const fromEnv = flag.env === undefined || env[flag.env] === '' ? undefined : env[flag.env];
        const value = given[name];
        const texts = (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
        if (texts.length === 0 && fromEnv !== undefined) texts.push(fromEnv);
        if (texts.length === 0) {
          values[camelCase(name)] = flag.default;
          continue;
        }
        try {
          // A repeated flag's values are concatenated; any other flag has exactly one.
          values[camelCase(name)] = flag.multiple
            ? texts.flatMap((t) => flag.parse(t) as readonly unknown[])
            : flag.parse(texts[0]!);
        } catch (err) {
          if (!(err instanceof GatehouseError)) throw err;
          const source = given[name] === undefined ? `$${flag.env} (for --${name})` : `--${name}`;
          throw usage(`${source}: ${err.message}`, err);
        }
      }
      if (!spec.options) return values as O;
      try {
        return spec.options(values as FlagValues<F>, positionals);
      } catch (err) {
        if (err instanceof UsageError) throw usage(err.message, err);
        throw err;
      }
    },
  };
}

/** The options, for callers that never pass --help (tests, the DataPlane's own argument checks). */
export function parseOptions<O>(command: Command<O>, argv: readonly string[], env: Env = {}): O {
  const parsed = command.parse(argv, env);
  if (parsed === 'help') throw new UsageError(`gatehouse ${command.name}: --help asks for help, not options`);
  return parsed;
}

/** What help says a flag defaults to, or undefined when it has no default. */
export function defaultHelp(flag: Flag<unknown>): string | undefined {
  const parts = [
    ...(flag.env !== undefined ? [`$${flag.env}`] : []),
    ...(flag.default !== undefined ? [flag.format(flag.default)] : []),
    ...(flag.defaultText !== undefined ? [flag.defaultText] : []),
  ];
  return parts.length === 0 ? undefined : parts.join(', else ');
}

/** The help line of one flag: `  -f, --file DIR   manifests to serve (default: examples)`. */
export function flagHelp(name: string, flag: Flag<unknown>, width = 30): string {
  const left = `${flag.short ? `-${flag.short}, ` : '    '}--${name}${flag.value ? ` ${flag.value}` : ''}`;
  const choices = flag.choices && flag.choices.length > 1 ? `; one of ${flag.choices.join(', ')}` : '';
  const def = defaultHelp(flag);
  return `  ${left.padEnd(width)} ${flag.description}${choices}${def === undefined ? '' : ` (default: ${def})`}`;
}

export function commandHelp(command: Command): string {
  const flags = Object.entries(command.flags);
  // Two spaces between the longest flag and its description.
  const width =
    1 + Math.max('-h, --help'.length, ...flags.map(([name, flag]) => `    --${name} ${flag.value}`.trimEnd().length));
  const rows = flags.map(([name, flag]) => flagHelp(name, flag, width));
  rows.push(`  ${'-h, --help'.padEnd(width)} show this help`);
  const args = command.positionals
    ? `Arguments:\n  ${command.positionals.value}  ${command.positionals.description}\n\n`
    : '';
  return `${command.summary}\n\nUsage: ${command.usage}\n\n${args}Options:\n${rows.join('\n')}\n`;
}
