// Parses Apigee condition syntax (docs/architecture.md#the-flow-engine) once, at compile time, into the Condition AST of
// protos/gatehouse/v1/runtime.proto (proto3 JSON shape). Precedence, loosest first: or, and, not, then
// comparisons; parentheses group. A bare operand is a truthiness test.
import { RE2JS } from 're2js';
import type { Condition, Operand } from '../../../protos/gen/json/gatehouse.v1.ts';
import { GatehouseError } from '../../../lib/errors.ts';

export type ComparisonOperator =
  | 'EQUALS'
  | 'NOT_EQUALS'
  | 'GREATER'
  | 'LESS'
  | 'GREATER_OR_EQUAL'
  | 'LESS_OR_EQUAL'
  | 'MATCHES_PATH'
  | 'MATCHES'
  | 'JAVA_REGEX'
  | 'STARTS_WITH'
  | 'EQUALS_CASE_INSENSITIVE';

/** A condition that does not parse: the message names the line and column (1-based). */
export class ConditionSyntaxError extends GatehouseError {
  readonly line: number;
  readonly column: number;

  constructor(message: string, line: number, column: number) {
    super('GH_ERR_COMPILE_CONDITION', `${message} at line ${line}, column ${column}`);
    this.line = line;
    this.column = column;
  }
}

const symbolOperators: readonly [string, ComparisonOperator][] = [
  ['~~', 'JAVA_REGEX'],
  ['~/', 'MATCHES_PATH'],
  ['=|', 'STARTS_WITH'],
  [':=', 'EQUALS_CASE_INSENSITIVE'],
  ['==', 'EQUALS'],
  ['!=', 'NOT_EQUALS'],
  ['>=', 'GREATER_OR_EQUAL'],
  ['<=', 'LESS_OR_EQUAL'],
  ['=', 'EQUALS'],
  ['>', 'GREATER'],
  ['<', 'LESS'],
  ['~', 'MATCHES'],
];

/** Word operators, matched case-insensitively as Apigee does. */
const wordOperators: ReadonlyMap<string, ComparisonOperator> = new Map([
  ['equals', 'EQUALS'],
  ['is', 'EQUALS'],
  ['notequals', 'NOT_EQUALS'],
  ['isnot', 'NOT_EQUALS'],
  ['greaterthan', 'GREATER'],
  ['lesserthan', 'LESS'],
  ['greaterthanorequals', 'GREATER_OR_EQUAL'],
  ['lesserthanorequals', 'LESS_OR_EQUAL'],
  ['matchespath', 'MATCHES_PATH'],
  ['likepath', 'MATCHES_PATH'],
  ['matches', 'MATCHES'],
  ['like', 'MATCHES'],
  ['javaregex', 'JAVA_REGEX'],
  ['startswith', 'STARTS_WITH'],
  ['equalscaseinsensitive', 'EQUALS_CASE_INSENSITIVE'],
]);

type Token =
  | { kind: 'and' | 'or' | 'not' | '(' | ')' | 'end'; text: string; offset: number }
  | { kind: 'op'; op: ComparisonOperator; text: string; offset: number }
  | { kind: 'operand'; operand: Operand; text: string; offset: number };

const wordChar = /[A-Za-z0-9_.\-$@{}[\]*]/;

function tokenize(src: string, fail: (msg: string, offset: number) => never): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '(' || c === ')') {
      tokens.push({ kind: c, text: c, offset: i++ });
      continue;
    }
    if (src.startsWith('&&', i)) {
      tokens.push({ kind: 'and', text: '&&', offset: i });
      i += 2;
      continue;
    }
    if (src.startsWith('||', i)) {
      tokens.push({ kind: 'or', text: '||', offset: i });
      i += 2;
      continue;
    }
    const sym = symbolOperators.find(([s]) => src.startsWith(s, i));
    if (sym) {
      tokens.push({ kind: 'op', op: sym[1], text: sym[0], offset: i });
      i += sym[0].length;
      continue;
    }
    if (c === '!') {
      tokens.push({ kind: 'not', text: '!', offset: i++ });
      continue;
    }
    if (c === '"' || c === "'") {
      let value = '';
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        value += src[i++];
      }
      if (i >= src.length) fail('unterminated string', start);
      i++;
      tokens.push({ kind: 'operand', operand: { string: value }, text: src.slice(start, i), offset: start });
      continue;
    }
    const number = /^-?\d+(\.\d+)?(?![A-Za-z_.])/.exec(src.slice(i));
    if (number) {
      tokens.push({ kind: 'operand', operand: { number: Number(number[0]) }, text: number[0], offset: i });
      i += number[0].length;
      continue;
    }
    if (!/[A-Za-z_$@{]/.test(c)) fail(`unexpected character '${c}'`, i);
    while (i < src.length && wordChar.test(src[i]!)) i++;
    const text = src.slice(start, i);
    const lower = text.toLowerCase();
    if (lower === 'and' || lower === 'or' || lower === 'not') tokens.push({ kind: lower, text, offset: start });
    else if (wordOperators.has(lower)) tokens.push({ kind: 'op', op: wordOperators.get(lower)!, text, offset: start });
    else if (lower === 'true' || lower === 'false')
      tokens.push({ kind: 'operand', operand: { boolean: lower === 'true' }, text, offset: start });
    else if (lower === 'null') tokens.push({ kind: 'operand', operand: { null: true }, text, offset: start });
    else tokens.push({ kind: 'operand', operand: { variable: text }, text, offset: start });
  }
  tokens.push({ kind: 'end', text: 'end of condition', offset: src.length });
  return tokens;
}

function position(src: string, offset: number): { line: number; column: number } {
  const before = src.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** Parses one condition. Throws ConditionSyntaxError; the result carries `source` on the root. */
export function parseCondition(src: string): Condition {
  const fail = (msg: string, offset: number): never => {
    const { line, column } = position(src, offset);
    throw new ConditionSyntaxError(msg, line, column);
  };
  const tokens = tokenize(src, fail);
  let pos = 0;
  // Nothing consumes the closing 'end' token, so `pos` never runs past it.
  const peek = (): Token => tokens[pos]!;
  const describe = (t: Token) => (t.kind === 'end' ? 'end of condition' : `'${t.text}'`);

  const flatten = (kind: 'all' | 'any', items: Condition[]): Condition =>
    items.length === 1 ? items[0]! : { [kind]: { items: items.flatMap((c) => c[kind]?.items ?? [c]) } };

  function parseOr(): Condition {
    const items = [parseAnd()];
    while (peek().kind === 'or') {
      pos++;
      items.push(parseAnd());
    }
    return flatten('any', items);
  }
  function parseAnd(): Condition {
    const items = [parseNot()];
    while (peek().kind === 'and') {
      pos++;
      items.push(parseNot());
    }
    return flatten('all', items);
  }
  function parseNot(): Condition {
    if (peek().kind === 'not') {
      pos++;
      return { not: parseNot() };
    }
    return parsePrimary();
  }
  function parseOperand(after?: Token): { operand: Operand; token: Token } {
    const t = peek();
    if (t.kind !== 'operand') {
      fail(
        after
          ? `expected a value after '${after.text}', found ${describe(t)}`
          : `expected a value, found ${describe(t)}`,
        t.offset,
      );
    }
    pos++;
    return { operand: (t as Extract<Token, { kind: 'operand' }>).operand, token: t };
  }
  function parsePrimary(): Condition {
    const open = peek();
    if (open.kind === '(') {
      pos++;
      const inner = parseOr();
      if (peek().kind !== ')')
        fail(
          `expected ')' to close the '(' at column ${position(src, open.offset).column}, found ${describe(peek())}`,
          peek().offset,
        );
      pos++;
      return inner;
    }
    const left = parseOperand().operand;
    const opToken = peek();
    if (opToken.kind !== 'op') return { truthy: left };
    pos++;
    const { operand: right, token: rightToken } = parseOperand(opToken);
    if (opToken.op === 'JAVA_REGEX' && right.string !== undefined) checkRegex(right.string, rightToken.offset);
    return { comparison: { operator: opToken.op, left, right } };
  }
  function checkRegex(pattern: string, offset: number): void {
    try {
      RE2JS.compile(pattern);
    } catch (err) {
      fail(`invalid regular expression: ${(err as Error).message}`, offset);
    }
  }

  if (peek().kind === 'end') fail('empty condition', 0);
  const root = parseOr();
  if (peek().kind !== 'end') fail(`unexpected ${describe(peek())}`, peek().offset);
  return { ...root, source: src };
}
