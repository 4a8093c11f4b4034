import { describe, expect, it } from 'vitest';
import { ConditionSyntaxError, parseCondition, type ComparisonOperator } from './conditions.ts';

const v = (variable: string) => ({ variable });
const s = (string: string) => ({ string });
const cmp = (operator: ComparisonOperator, left: object, right: object) => ({ comparison: { operator, left, right } });
/** The AST without the root's source text. */
function ast(src: string): object {
  const { source: _source, ...rest } = parseCondition(src);
  return rest;
}

describe('parseCondition operators', () => {
  it.each([
    ['=', 'EQUALS'],
    ['==', 'EQUALS'],
    ['Equals', 'EQUALS'],
    ['Is', 'EQUALS'],
    ['equals', 'EQUALS'],
    ['!=', 'NOT_EQUALS'],
    ['NotEquals', 'NOT_EQUALS'],
    ['IsNot', 'NOT_EQUALS'],
    ['>', 'GREATER'],
    ['GreaterThan', 'GREATER'],
    ['<', 'LESS'],
    ['LesserThan', 'LESS'],
    ['>=', 'GREATER_OR_EQUAL'],
    ['GreaterThanOrEquals', 'GREATER_OR_EQUAL'],
    ['<=', 'LESS_OR_EQUAL'],
    ['LesserThanOrEquals', 'LESS_OR_EQUAL'],
    ['~/', 'MATCHES_PATH'],
    ['MatchesPath', 'MATCHES_PATH'],
    ['LikePath', 'MATCHES_PATH'],
    ['~', 'MATCHES'],
    ['Matches', 'MATCHES'],
    ['Like', 'MATCHES'],
    ['~~', 'JAVA_REGEX'],
    ['JavaRegex', 'JAVA_REGEX'],
    ['=|', 'STARTS_WITH'],
    ['StartsWith', 'STARTS_WITH'],
    [':=', 'EQUALS_CASE_INSENSITIVE'],
    ['EqualsCaseInsensitive', 'EQUALS_CASE_INSENSITIVE'],
  ] as const)('%s is %s', (op, operator) => {
    expect(ast(`request.path ${op} "/a"`)).toEqual(cmp(operator, v('request.path'), s('/a')));
  });

  it('needs no spaces around symbol operators', () => {
    expect(ast('request.verb="GET"')).toEqual(cmp('EQUALS', v('request.verb'), s('GET')));
    expect(ast('a!=b')).toEqual(cmp('NOT_EQUALS', v('a'), v('b')));
  });
});

describe('parseCondition operands', () => {
  it('reads strings with either quote and escapes', () => {
    expect(ast(`a = 'x y'`)).toEqual(cmp('EQUALS', v('a'), s('x y')));
    expect(ast('a = "say \\"hi\\""')).toEqual(cmp('EQUALS', v('a'), s('say "hi"')));
  });

  it('reads numbers, booleans and null', () => {
    expect(ast('response.status.code >= 500')).toEqual(
      cmp('GREATER_OR_EQUAL', v('response.status.code'), { number: 500 }),
    );
    expect(ast('x < -1.5')).toEqual(cmp('LESS', v('x'), { number: -1.5 }));
    expect(ast('flag = true')).toEqual(cmp('EQUALS', v('flag'), { boolean: true }));
    expect(ast('flag = FALSE')).toEqual(cmp('EQUALS', v('flag'), { boolean: false }));
    expect(ast('x != null')).toEqual(cmp('NOT_EQUALS', v('x'), { null: true }));
  });

  it('reads variable names with dashes, dots and braces', () => {
    expect(ast('request.header.x-api-key')).toEqual({ truthy: v('request.header.x-api-key') });
  });

  it('keeps the source text on the root only', () => {
    const c = parseCondition('a and b');
    expect(c.source).toBe('a and b');
    expect(c.all!.items![0]).toEqual({ truthy: v('a') });
  });
});

describe('parseCondition precedence', () => {
  const a = cmp('EQUALS', v('a'), { number: 1 });
  const b = cmp('EQUALS', v('b'), { number: 2 });
  const c = cmp('EQUALS', v('c'), { number: 3 });

  it('binds and tighter than or', () => {
    expect(ast('a = 1 or b = 2 and c = 3')).toEqual({ any: { items: [a, { all: { items: [b, c] } }] } });
    expect(ast('a = 1 and b = 2 or c = 3')).toEqual({ any: { items: [{ all: { items: [a, b] } }, c] } });
  });

  it('binds not tighter than and, and looser than a comparison', () => {
    expect(ast('not a = 1 and b = 2')).toEqual({ all: { items: [{ not: a }, b] } });
    expect(ast('!a = 1')).toEqual({ not: a });
    expect(ast('not not x')).toEqual({ not: { not: { truthy: v('x') } } });
  });

  it('lets parentheses override', () => {
    expect(ast('(a = 1 or b = 2) and c = 3')).toEqual({ all: { items: [{ any: { items: [a, b] } }, c] } });
    expect(ast('not (a = 1 or b = 2)')).toEqual({ not: { any: { items: [a, b] } } });
    expect(ast('((a = 1))')).toEqual(a);
  });

  it('accepts && || ! and any case of and/or/not', () => {
    expect(ast('a = 1 && b = 2 || !c = 3')).toEqual({ any: { items: [{ all: { items: [a, b] } }, { not: c }] } });
    expect(ast('a = 1 AND b = 2 Or NOT c = 3')).toEqual({ any: { items: [{ all: { items: [a, b] } }, { not: c }] } });
  });

  it('flattens chains of one operator', () => {
    expect(ast('a = 1 and b = 2 and c = 3')).toEqual({ all: { items: [a, b, c] } });
    expect(ast('a = 1 or (b = 2 or c = 3)')).toEqual({ any: { items: [a, b, c] } });
  });

  it("parses docs/policies.md's create flow", () => {
    expect(ast('request.verb = "POST" and proxy.pathsuffix MatchesPath "/orders"')).toEqual({
      all: {
        items: [cmp('EQUALS', v('request.verb'), s('POST')), cmp('MATCHES_PATH', v('proxy.pathsuffix'), s('/orders'))],
      },
    });
  });
});

describe('parseCondition errors', () => {
  function error(src: string): ConditionSyntaxError {
    try {
      parseCondition(src);
    } catch (err) {
      expect(err).toBeInstanceOf(ConditionSyntaxError);
      return err as ConditionSyntaxError;
    }
    throw new Error(`"${src}" parsed`);
  }

  it.each([
    ['', 'empty condition', 1, 1],
    ['   ', 'empty condition', 1, 1],
    ['a = ', "expected a value after '='", 1, 5],
    ['a = "open', 'unterminated string', 1, 5],
    ['(a = 1', "expected ')' to close the '(' at column 1", 1, 7],
    ['a = 1)', "unexpected ')'", 1, 6],
    ['a = 1 b = 2', "unexpected 'b'", 1, 7],
    ['a and', 'expected a value, found end of condition', 1, 6],
    ['a = 1 and\n  # b', "unexpected character '#'", 2, 3],
    ['and a', "expected a value, found 'and'", 1, 1],
    ['a = = b', "expected a value after '=', found '='", 1, 5],
    ['a | b', "unexpected character '|'", 1, 3],
    ['a ~~ "(["', 'invalid regular expression', 1, 6],
  ])('%j: %s at %i:%i', (src, message, line, column) => {
    const err = error(src);
    expect(err.message).toContain(message);
    expect([err.line, err.column]).toEqual([line, column]);
    expect(err.message).toContain(`at line ${line}, column ${column}`);
    expect(err.code).toBe('GH_ERR_COMPILE_CONDITION');
  });
});
