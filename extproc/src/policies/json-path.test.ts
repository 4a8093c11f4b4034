import fc from 'fast-check';
import { JSONPath } from 'jsonpath-plus';
import { describe, expect, it } from 'vitest';
import { jsonPathProblem } from '../../../protos/policies/expressions.ts';
import { boundedJsonText, compileJsonPath, jsonMatchTexts } from './json-path.ts';

const doc = {
  a: { b: [1, { c: 2, d: [3, 4] }], e: 'x' },
  f: [[5], { g: 6 }],
  '0': 'zero',
  'a-b': 7,
  arr: [10, 20, 30, 40, 50],
};
const select = (path: string, json: unknown = doc) => compileJsonPath(path).values(json);

describe('JSONPath dialect', () => {
  it.each([
    ['$', [doc]],
    ['$.a.e', ['x']],
    ['$.a.b[1].c', [2]],
    ["$['a-b']", [7]],
    ['$.a-b', [7]],
    ['$.arr.0', [10]],
    ['$.arr[-1]', [50]],
    ['$.arr[1:3]', [20, 30]],
    ['$.arr[::2]', [10, 30, 50]],
    ['$.arr[-2:]', [40, 50]],
    ['$.arr[-1:-3:-1]', [50, 40]],
    ['$.arr[::-1]', [50, 40, 30, 20, 10]],
    ['$.arr[0:5:0]', []],
    ['$.arr[0,2]', [10, 30]],
    ['$.arr[0,0]', [10, 10]],
    ['$[ "0" , \'a-b\' ]', ['zero', 7]],
    ['$..c', [2]],
    ['$..d[1]', [4]],
    ['$..*..c', [2]],
    ['$.missing.x', []],
    ['$.arr[10]', []],
  ])('%s', (path, expected) => {
    expect(jsonPathProblem(path)).toBeUndefined();
    expect(select(path)).toEqual(expected);
  });

  it('selects a scalar document only with $', () => {
    expect(select('$', 'text')).toEqual(['text']);
    expect(select('$.a', 'text')).toEqual([]);
    expect(compileJsonPath('$').values(undefined)).toEqual([]);
    expect(select('$', null)).toEqual([null]);
  });

  it.each([
    ['a.b', /must start with "\$"/],
    ['$.a[?(@.b)]', /filter and script/],
    ['$..[(@.length-1)]', /filter and script/],
    ['$.a^', /jsonpath-plus extensions/],
    ['$.a~', /jsonpath-plus extensions/],
    ['$..', /ends with "."/],
    ['$.a.', /ends with "."/],
    ['$[a]', /must be quoted/],
    ['$.a[1', /unterminated|expected/],
    ["$['a]", /unterminated quoted name/],
    ['$[1:2:3:4]', /not a slice/],
    ['$ .a', /unexpected " "/],
  ])('refuses %s, saying why', (path, reason) => {
    expect(jsonPathProblem(path)).toMatch(reason);
  });
});

// Documents and paths on which jsonpath-plus and this evaluator agree: names, wildcards, non-negative
// indices, forward slices and one descendant segment (jsonpath-plus repeats nodes under a second `..`,
// reads negative indices as names and indexes into strings; this dialect follows RFC 9535 there).
const key = fc.constantFrom('a', 'b', 'c', '0', '1');
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const selector = fc.oneof(
  key.map((k) => `.${k}`),
  key.map((k) => `['${k}']`),
  fc.constant('.*'),
  fc.constant('[*]'),
  fc.nat(4).map((i) => `[${i}]`),
  fc.tuple(fc.nat(4), fc.nat(4), fc.integer({ min: 1, max: 3 })).map(([s, e, st]) => `[${s}:${e}:${st}]`),
);
const path = fc
  .tuple(
    fc.array(selector, { maxLength: 2 }),
    fc.option(fc.oneof(key, fc.constant('*'))),
    fc.array(selector, { maxLength: 2 }),
  )
  .map(
    ([before, descendant, after]) =>
      `$${before.join('')}${descendant === null ? '' : `..${descendant}`}${after.join('')}`,
  );

it('agrees with jsonpath-plus on the dialect they share', () => {
  fc.assert(
    fc.property(json, path, (document, expression) => {
      expect(jsonPathProblem(expression)).toBeUndefined();
      const ours = select(expression, document);
      const theirs =
        document !== null && typeof document === 'object'
          ? (JSONPath({ path: expression, json: document, wrap: true, eval: false }) as unknown[])
          : expression === '$'
            ? [document]
            : [];
      expect(ours).toEqual(theirs);
    }),
    { numRuns: 2000 },
  );
});

describe('bounded texts', () => {
  /** A body `levels` deep, each level holding a string of `width` characters and the next level. */
  const deep = (levels: number, width: number): unknown => {
    let node: unknown = 1;
    for (let i = 0; i < levels; i++) node = { s: 'y'.repeat(width), c: node };
    return node;
  };

  it('matches a container through the outermost selected one only: text linear in the document', () => {
    const root = deep(250, 4000); // ~1 MB of JSON; every subtree's JSON together would be ~125 MB
    const size = JSON.stringify(root).length;
    const texts = jsonMatchTexts(root, select('$..*', root));
    const total = texts.reduce((n, t) => n + t.length, 0);
    expect(total).toBeLessThan(2 * size);
    expect(texts).toContain(JSON.stringify((root as { c: unknown }).c)); // the outermost selected container
  });

  it('keeps each selected scalar as its own text, and containers that no other selected one holds', () => {
    const root = { a: { b: 'x' }, c: [{ d: 'y' }] };
    expect(jsonMatchTexts(root, select('$..*', root))).toEqual(['x', 'y', '{"b":"x"}', '[{"d":"y"}]']);
    expect(jsonMatchTexts(root, select('$.a', root))).toEqual(['{"b":"x"}']);
    expect(jsonMatchTexts(root, select('$', root))).toEqual([JSON.stringify(root)]);
  });

  it('gives up on a JSON list of values past its bound instead of building it', () => {
    const root = deep(250, 4000);
    const size = JSON.stringify(root).length;
    expect(boundedJsonText(select('$..*', root), 2 * size)).toBeUndefined();
    expect(boundedJsonText(select('$..s', { s: 'a', c: { s: 'b' } }), 100)).toBe('["a","b"]');
    expect(boundedJsonText([], 2)).toBe('[]');
  });
});
