import { describe, expect, it } from 'vitest';
import type { Condition } from '../../../protos/gen/gatehouse/v1/Condition.ts';
import type { Operand } from '../../../protos/gen/gatehouse/v1/Operand.ts';
import { decodeRuntimeSnapshot } from '../config/decode.ts';
import { compileCondition, ConditionInvalidError, globMatcher, pathPatternMatcher } from './conditions.ts';

type Op = NonNullable<NonNullable<Condition['comparison']>['operator']>;

/** Decodes through the same proto path as a real snapshot, so the AST has `kind`s and defaults. */
function compile(condition: Condition) {
  const snapshot = decodeRuntimeSnapshot({ proxies: [{ flows: { conditionalFlows: [{ condition }] } }] });
  return compileCondition(snapshot.proxies[0]!.flows!.conditionalFlows[0]!.condition);
}
const v = (variable: string): Operand => ({ variable });
const s = (string: string): Operand => ({ string });
const n = (number: number): Operand => ({ number });
const cmp = (operator: Op, left: Operand, right: Operand): Condition => ({ comparison: { operator, left, right } });
const vars = (values: Record<string, unknown>) => ({ get: (name: string) => values[name] });

describe('conditions', () => {
  const env = vars({
    verb: 'POST',
    suffix: '/orders/17',
    code: '404',
    num: 7,
    empty: '',
    f: 'false',
    t: 'yes',
    list: ['a', 'b'],
  });
  const check = (c: Condition) => compile(c)(env);

  it('EQUALS / NOT_EQUALS compare numerically when both sides are numeric', () => {
    expect(check(cmp('EQUALS', v('verb'), s('POST')))).toBe(true);
    expect(check(cmp('EQUALS', v('verb'), s('post')))).toBe(false);
    expect(check(cmp('EQUALS', v('code'), n(404)))).toBe(true);
    expect(check(cmp('EQUALS', v('code'), s('404.0')))).toBe(true);
    expect(check(cmp('NOT_EQUALS', v('verb'), s('GET')))).toBe(true);
    expect(check(cmp('EQUALS', v('list'), s('a,b')))).toBe(true);
  });

  it('treats an unknown variable as null: every comparison is false, explicit null checks work', () => {
    expect(check(cmp('EQUALS', v('missing'), s('x')))).toBe(false);
    expect(check(cmp('NOT_EQUALS', v('missing'), s('x')))).toBe(false);
    expect(check(cmp('GREATER', v('missing'), n(1)))).toBe(false);
    expect(check(cmp('STARTS_WITH', v('missing'), s('')))).toBe(false);
    expect(check(cmp('EQUALS', v('missing'), { null: true }))).toBe(true);
    expect(check(cmp('NOT_EQUALS', v('missing'), { null: true }))).toBe(false);
    expect(check(cmp('NOT_EQUALS', v('verb'), { null: true }))).toBe(true);
  });

  it('orders numbers numerically and strings lexically', () => {
    expect(check(cmp('GREATER', v('code'), n(99)))).toBe(true); // "404" > 99 as numbers
    expect(check(cmp('LESS', v('num'), n(10)))).toBe(true);
    expect(check(cmp('GREATER_OR_EQUAL', v('num'), n(7)))).toBe(true);
    expect(check(cmp('LESS_OR_EQUAL', v('num'), n(6)))).toBe(false);
    expect(check(cmp('GREATER', v('verb'), s('GET')))).toBe(true);
  });

  it('string operators', () => {
    expect(check(cmp('STARTS_WITH', v('suffix'), s('/orders')))).toBe(true);
    expect(check(cmp('EQUALS_CASE_INSENSITIVE', v('verb'), s('post')))).toBe(true);
    expect(check(cmp('MATCHES', v('verb'), s('P*T')))).toBe(true);
    expect(check(cmp('MATCHES', v('verb'), s('P?ST')))).toBe(true);
    expect(check(cmp('MATCHES', v('verb'), s('G*')))).toBe(false);
    expect(check(cmp('JAVA_REGEX', v('suffix'), s('/orders/[0-9]+')))).toBe(true);
    expect(check(cmp('JAVA_REGEX', v('suffix'), s('[0-9]+')))).toBe(false); // whole-string match
    expect(check(cmp('MATCHES_PATH', v('suffix'), s('/orders/*')))).toBe(true);
    expect(check(cmp('MATCHES_PATH', v('suffix'), s('/orders')))).toBe(false);
  });

  it('reads a pattern from a variable at run time', () => {
    const c = compile(cmp('MATCHES_PATH', v('suffix'), v('pattern')));
    expect(c(vars({ suffix: '/a/b', pattern: '/a/*' }))).toBe(true);
    expect(c(vars({ suffix: '/a/b/c', pattern: '/a/*' }))).toBe(false);
    expect(compile(cmp('JAVA_REGEX', v('x'), v('p')))(vars({ x: 'a', p: '(' }))).toBe(false);
  });

  it('combines with all / any / not and evaluates bare operands as truthy', () => {
    const post = cmp('EQUALS', v('verb'), s('POST'));
    const get = cmp('EQUALS', v('verb'), s('GET'));
    expect(check({ all: { items: [post, { not: get }] } })).toBe(true);
    expect(check({ all: { items: [post, get] } })).toBe(false);
    expect(check({ any: { items: [get, post] } })).toBe(true);
    expect(check({ truthy: v('t') })).toBe(true);
    expect(check({ truthy: v('f') })).toBe(false);
    expect(check({ truthy: v('empty') })).toBe(false);
    expect(check({ truthy: v('missing') })).toBe(false);
    expect(compileCondition(null)(env)).toBe(true);
  });

  it('rejects a malformed AST or pattern at compile time, naming the source', () => {
    expect(() => compile({ source: 'x ~~ "("', ...cmp('JAVA_REGEX', v('x'), s('(')) })).toThrow(/x ~~ "\("/);
    expect(() => compile({ comparison: { left: v('x'), right: s('y') } })).toThrow(ConditionInvalidError);
    expect(() => compile({ source: 'empty' })).toThrow(ConditionInvalidError);
  });
});

describe('MatchesPath', () => {
  it('* is one segment, ** any number', () => {
    const one = pathPatternMatcher('/a/*/c');
    expect([one('/a/b/c'), one('/a/b/x/c'), one('/a//c')]).toEqual([true, false, false]);
    const any = pathPatternMatcher('/a/**');
    expect([any('/a'), any('/a/'), any('/a/b'), any('/a/b/c'), any('/ab')]).toEqual([true, true, true, true, false]);
    const mid = pathPatternMatcher('/a/**/z');
    expect([mid('/a/z'), mid('/a/b/c/z'), mid('/a/b/c')]).toEqual([true, true, false]);
    expect(pathPatternMatcher('/**')('/anything/at/all')).toBe(true);
    expect(pathPatternMatcher('/v1.0/*')('/v1x0/a')).toBe(false); // dots are literal
  });

  it('globs match whole values', () => {
    expect(globMatcher('a*')('abc')).toBe(true);
    expect(globMatcher('a*')('xabc')).toBe(false);
    expect(globMatcher('a.c')('abc')).toBe(false);
  });
});
