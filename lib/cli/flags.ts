// Command-line flags, each declared once: its help (placeholder, description), its default (a typed
// value, or an environment variable, or a sentence for a default computed elsewhere) and the parser
// that turns its text into a typed value. lib/cli/command.ts parses a table of them into one object
// (camelCase keys: `--metrics-port` is `metricsPort`) and renders the help from the same table.
//
// Parsers throw UsageError with the reason only (`"abc" is not a port number (0-65535)`); the command
// parser prefixes the command and the flag.
import { UsageError } from '../errors.ts';

export interface Flag<T> {
  /** Placeholder of the value in help: PORT, DIR, HOST:PORT. */
  readonly value: string;
  readonly description: string;
  /** One-letter alias: `f` for `-f`. */
  readonly short?: string;
  /** Used when neither the flag nor its environment variable is given. */
  readonly default?: T;
  /** Environment variable read when the flag is not given (an empty one counts as not set). */
  readonly env?: string;
  /** Help's words for a default that is not a value of this flag ("all", "stdout", "in-memory stores"). */
  readonly defaultText?: string;
  /** The accepted values, for flags that take one of a list (help lists them). */
  readonly choices?: readonly string[];
  /** Given more than once, each value is parsed and the results concatenated (repeated()). */
  readonly multiple?: boolean;
  /** Takes no value: present or absent (toggle()); parse receives "true". */
  readonly toggle?: boolean;
  parse(text: string): T;
  /** The value as a user would type it (help shows defaults this way). */
  format(value: T): string;
}

export type FlagTable = Readonly<Record<string, Flag<unknown>>>;

/** What a flag declaration may set; each kind of flag supplies the rest. */
export interface FlagOptions<T> {
  description: string;
  value?: string;
  short?: string;
  default?: T;
  env?: string;
  defaultText?: string;
}

/** A flag declared with a default is never undefined once parsed. */
type Defaulted<O, T> = O extends { default: T } ? { readonly default: T } : unknown;

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

/** The parsed values of a flag table: camelCase keys; undefined where a flag without a default is absent. */
export type FlagValues<F extends FlagTable> = {
  -readonly [K in keyof F & string as Camel<K>]: F[K] extends { readonly default: unknown }
    ? ReturnType<F[K]['parse']>
    : ReturnType<F[K]['parse']> | undefined;
};

export function camelCase(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

interface FlagKind<T> {
  value: string;
  parse: (text: string) => T;
  format?: (value: T) => string;
  choices?: readonly string[];
  multiple?: boolean;
  toggle?: boolean;
}

/** A flag of any kind: `kind` parses and formats, `o` is the declaration. */
export function defineFlag<T, const O extends FlagOptions<T>>(kind: FlagKind<T>, o: O): Flag<T> & Defaulted<O, T> {
  return {
    ...o,
    value: o.value ?? kind.value,
    parse: kind.parse,
    format: kind.format ?? String,
    ...(kind.choices ? { choices: kind.choices } : {}),
    ...(kind.multiple ? { multiple: true } : {}),
    ...(kind.toggle ? { toggle: true } : {}),
  } as Flag<T> & Defaulted<O, T>;
}

// --- parsers, usable on their own ------------------------------------------------------------------

export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`"${text}" is not a port number (0-65535)`);
  return Number(text);
}

export interface HostPort {
  host: string;
  port: number;
}

/** HOST:PORT, IPv6 hosts in brackets ([::1]:9002); the host is returned without them. */
export function parseHostPort(text: string): HostPort {
  const match = /^(\[[^\]\s]+\]|[^\s:[\]]+):([^:]*)$/.exec(text);
  if (!match) throw new UsageError(`"${text}" is not HOST:PORT`);
  let port: number;
  try {
    port = parsePort(match[2]!);
  } catch {
    throw new UsageError(`"${text}" is not HOST:PORT (the port must be 0-65535)`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** The address as gRPC and users write it: brackets around an IPv6 host. */
export function formatHostPort({ host, port }: HostPort): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

const unitMs = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/** A Go/Kubernetes-style duration ("500ms", "15s", "1h30m") in milliseconds. */
export function parseDuration(text: string): number {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text))
    throw new UsageError(`"${text}" is not a duration like 15s, 500ms or 1h30m`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(amount) * unitMs[unit as keyof typeof unitMs];
  return Math.round(total);
}

/** Milliseconds in the largest unit that divides them: 15000 -> "15s", 90000 -> "90s", 1500 -> "1500ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of Object.entries(unitMs)) if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

export function parseBool(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new UsageError(`"${text}" is not true or false`);
}

export function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || !Number.isSafeInteger(n))
    throw new UsageError(`"${text}" is not a positive whole number`);
  return n;
}

/** 0 or more: a count where 0 means none (no workers, no limit advertised). */
export function parseWholeNumber(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new UsageError(`"${text}" is not a whole number (0 or more)`);
  return n;
}

export function parseText(text: string): string {
  if (text.trim() === '') throw new UsageError('needs a value');
  return text;
}

// --- kinds of flags ---------------------------------------------------------------------------------

/** Any non-empty text: a file, a name, a URL. */
export function text<const O extends FlagOptions<string> & { value: string }>(o: O) {
  return defineFlag<string, O>({ value: o.value, parse: parseText }, o);
}

export function port<const O extends FlagOptions<number>>(o: O) {
  return defineFlag<number, O>({ value: 'PORT', parse: parsePort }, o);
}

export function hostPort<const O extends FlagOptions<HostPort>>(o: O) {
  return defineFlag<HostPort, O>({ value: 'HOST:PORT', parse: parseHostPort, format: formatHostPort }, o);
}

/** A duration, parsed to milliseconds. */
export function duration<const O extends FlagOptions<number>>(o: O) {
  return defineFlag<number, O>({ value: 'DURATION', parse: parseDuration, format: formatDuration }, o);
}

/** true or false, given as a value (`--leader-elect false`), as Kubernetes components take them. */
export function bool<const O extends FlagOptions<boolean>>(o: O) {
  return defineFlag<boolean, O>({ value: 'BOOL', parse: parseBool }, o);
}

export function positiveInt<const O extends FlagOptions<number>>(o: O) {
  return defineFlag<number, O>({ value: 'N', parse: parsePositiveInt }, o);
}

/** 0 or more. */
export function wholeNumber<const O extends FlagOptions<number>>(o: O) {
  return defineFlag<number, O>({ value: 'N', parse: parseWholeNumber }, o);
}

/** One of a fixed list of words, e.g. oneOf(['Standalone', 'Sentinel', 'Cluster'], {...}). */
export function oneOf<const V extends readonly string[], const O extends FlagOptions<V[number]>>(choices: V, o: O) {
  const parse = (t: string): V[number] => {
    if (!choices.includes(t)) throw new UsageError(`"${t}" is not one of ${choices.join(', ')}`);
    return t;
  };
  return defineFlag<V[number], O>({ value: 'VALUE', parse, choices }, o);
}

/** A comma-separated list; blanks around items are dropped. */
export function list<const O extends FlagOptions<readonly string[]>>(o: O) {
  const parse = (t: string): readonly string[] => {
    const items = t
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) throw new UsageError('needs at least one item');
    return items;
  };
  return defineFlag<readonly string[], O>({ value: 'LIST', parse, format: (v) => v.join(',') }, o);
}

/** Given once per value (`--context a --context b`); the values in order, each non-empty. */
export function repeated<const O extends FlagOptions<readonly string[]> & { value: string }>(o: O) {
  const parse = (t: string): readonly string[] => [parseText(t)];
  return defineFlag<readonly string[], O>({ value: o.value, parse, format: (v) => v.join(' '), multiple: true }, o);
}

/** A switch without a value (`-A`, `--all-namespaces`): true when given, else its default. */
export function toggle<const O extends FlagOptions<boolean>>(o: O) {
  return defineFlag<boolean, O>({ value: '', parse: () => true, toggle: true }, o);
}
