// Condition evaluation (docs/architecture.md#the-flow-engine). The compiler parses Apigee condition text into the proto AST; here
// each AST is compiled once per snapshot into a closure, with its literal patterns (MatchesPath,
// Matches, JavaRegex) compiled to linear-time re2js programs up front. Semantics: an unknown variable
// is null and any comparison with null is false, except the explicit `= null` / `!= null` checks;
// values compare as numbers when both sides are numeric, as strings otherwise.
import { RE2JS } from 're2js';
import { GatehouseError } from '../../../lib/errors.ts';
import type { Comparison__Output } from '../../../protos/gen/gatehouse/v1/Comparison.ts';
import type { Condition__Output } from '../../../protos/gen/gatehouse/v1/Condition.ts';
import type { Operand__Output } from '../../../protos/gen/gatehouse/v1/Operand.ts';
import type { Variables } from './types.ts';
import { PrivateValue } from './variables.ts';

export type VariableReader = Pick<Variables, 'get'>;
export type Predicate = (vars: VariableReader) => boolean;
type Value = string | number | boolean | null;
type OperandReader = (vars: VariableReader) => Value;
type Matcher = (input: string) => boolean;

export class ConditionInvalidError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_CONDITION_INVALID', message);
  }
}

const ALWAYS: Predicate = () => true;

/** Compiles a condition; an absent one always holds. Throws ConditionInvalidError on a bad AST/pattern. */
export function compileCondition(condition: Condition__Output | null | undefined): Predicate {
  if (!condition) return ALWAYS;
  try {
    return compileNode(condition);
  } catch (err) {
    if (err instanceof ConditionInvalidError && condition.source) {
      throw new ConditionInvalidError(`condition "${condition.source}": ${err.message}`);
    }
    throw err;
  }
}

function compileNode(c: Condition__Output): Predicate {
  switch (c.kind) {
    case 'all': {
      const items = (c.all?.items ?? []).map(compileNode);
      return (v) => items.every((p) => p(v));
    }
    case 'any': {
      const items = (c.any?.items ?? []).map(compileNode);
      return (v) => items.some((p) => p(v));
    }
    case 'not': {
      if (!c.not) throw new ConditionInvalidError('"not" without an operand');
      const inner = compileNode(c.not);
      return (v) => !inner(v);
    }
    case 'comparison':
      if (!c.comparison) throw new ConditionInvalidError('empty comparison');
      return compileComparison(c.comparison);
    case 'truthy': {
      const read = compileOperand(c.truthy);
      return (v) => isTruthy(read(v));
    }
    default:
      throw new ConditionInvalidError('condition has no kind (all, any, not, comparison or truthy)');
  }
}

function compileOperand(o: Operand__Output | null | undefined): OperandReader {
  switch (o?.kind) {
    case 'variable': {
      const name = o.variable!;
      return (v) => toValue(v.get(name));
    }
    case 'string': {
      const s = o.string!;
      return () => s;
    }
    case 'number': {
      const n = o.number!;
      return () => n;
    }
    case 'boolean': {
      const b = o.boolean!;
      return () => b;
    }
    case 'null':
      return () => null;
    default:
      throw new ConditionInvalidError('comparison operand has no kind');
  }
}

function toValue(raw: unknown): Value {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return raw;
  if (Array.isArray(raw)) return raw.join(',');
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (raw instanceof PrivateValue) return raw.reveal();
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- deliberate: any other value compares as its own string form (a bigint as digits, a Date as its date), a plain object as "[object Object]"
  return String(raw);
}

function isTruthy(value: Value): boolean {
  if (value === null || value === false || value === '' || value === 0) return false;
  return !(typeof value === 'string' && value.toLowerCase() === 'false');
}

function asNumber(value: Value): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
  }
  return undefined;
}

/** <0, 0, >0 like compareTo: numerically when both are numbers, else as strings. */
function compare(a: Exclude<Value, null>, b: Exclude<Value, null>): number {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) return x - y;
  const s = String(a);
  const t = String(b);
  return s < t ? -1 : s > t ? 1 : 0;
}

function compileComparison(cmp: Comparison__Output): Predicate {
  const left = compileOperand(cmp.left);
  const right = compileOperand(cmp.right);
  const op = cmp.operator;
  if (op === 'EQUALS' || op === 'NOT_EQUALS') {
    const explicitNull = cmp.left?.kind === 'null' || cmp.right?.kind === 'null';
    const equal = op === 'EQUALS';
    if (explicitNull) return (v) => (left(v) === null && right(v) === null) === equal;
    return (v) => {
      const a = left(v);
      const b = right(v);
      return a !== null && b !== null && (compare(a, b) === 0) === equal;
    };
  }
  const test = ordered(op) ?? stringTest(op, cmp.right);
  return (v) => {
    const a = left(v);
    if (a === null) return false;
    const b = right(v);
    return b !== null && test(a, b);
  };
}

function ordered(
  op: Comparison__Output['operator'],
): ((a: Exclude<Value, null>, b: Exclude<Value, null>) => boolean) | undefined {
  switch (op) {
    case 'GREATER':
      return (a, b) => compare(a, b) > 0;
    case 'LESS':
      return (a, b) => compare(a, b) < 0;
    case 'GREATER_OR_EQUAL':
      return (a, b) => compare(a, b) >= 0;
    case 'LESS_OR_EQUAL':
      return (a, b) => compare(a, b) <= 0;
    default:
      return undefined;
  }
}

function stringTest(
  op: Comparison__Output['operator'],
  rightAst: Operand__Output | null,
): (a: Value, b: Value) => boolean {
  switch (op) {
    case 'STARTS_WITH':
      return (a, b) => String(a).startsWith(String(b));
    case 'EQUALS_CASE_INSENSITIVE':
      return (a, b) => String(a).toLowerCase() === String(b).toLowerCase();
    case 'MATCHES_PATH':
      return patternTest(rightAst, pathPatternMatcher);
    case 'MATCHES':
      return patternTest(rightAst, globMatcher);
    case 'JAVA_REGEX':
      return patternTest(rightAst, javaRegexMatcher);
    default:
      throw new ConditionInvalidError(`unknown comparison operator ${String(op)}`);
  }
}

/** A literal pattern is compiled now; one read from a variable is compiled on use, through a cache. */
function patternTest(
  rightAst: Operand__Output | null,
  build: (pattern: string) => Matcher,
): (a: Value, b: Value) => boolean {
  if (rightAst?.kind === 'string') {
    const match = build(rightAst.string!);
    return (a) => match(String(a));
  }
  const cache = new Map<string, Matcher>();
  return (a, b) => {
    const pattern = String(b);
    let match = cache.get(pattern);
    if (!match) {
      try {
        match = build(pattern);
      } catch {
        return false; // a bad pattern from a variable at run time matches nothing
      }
      if (cache.size >= 256) cache.clear();
      cache.set(pattern, match);
    }
    return match(String(a));
  };
}

function compileRegex(source: string, what: string, pattern: string): Matcher {
  try {
    const re = RE2JS.compile(source);
    return (input) => re.testExact(input);
  } catch (err) {
    throw new ConditionInvalidError(`${what} "${pattern}" does not compile: ${(err as Error).message}`);
  }
}

/** JavaRegex: the whole value must match (Java's Matcher.matches), in linear time. */
export function javaRegexMatcher(pattern: string): Matcher {
  return compileRegex(pattern, 'JavaRegex', pattern);
}

/** Matches / Like: `*` any run of characters, `?` one character. */
export function globMatcher(pattern: string): Matcher {
  const source = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : RE2JS.quote(c))).join('');
  return compileRegex(`(?s)${source}`, 'Matches pattern', pattern);
}

/**
 * MatchesPath (Apigee): `*` one path segment, `**` any number of segments (also none, so "/a/**"
 * matches "/a"); a trailing slash on the value is ignored.
 */
export function pathPatternMatcher(pattern: string): Matcher {
  const segments = pattern.split('/');
  let source = '';
  segments.forEach((seg, i) => {
    if (i === 0) {
      source += seg === '**' ? '.*' : segmentSource(seg);
      return;
    }
    source += seg === '**' ? '(?:/.*)?' : `/${segmentSource(seg)}`;
  });
  return compileRegex(`(?s)${source}/?`, 'MatchesPath pattern', pattern);
}

function segmentSource(seg: string): string {
  if (seg === '*') return '[^/]+';
  return seg
    .split('*')
    .map((part) => RE2JS.quote(part))
    .join('[^/]*');
}
