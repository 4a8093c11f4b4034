import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, jsonSha256Hex, sha256Hex } from './canonical-json.ts';

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: undefined }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[{"z":1}]},"b":1}',
    );
  });

  it('parses back to an equal value, with or without indentation', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
        expect(JSON.parse(canonicalJson(value, 2))).toEqual(JSON.parse(canonicalJson(value)));
      }),
    );
  });

  it('does not depend on key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
      }),
    );
  });
});

describe('jsonSha256Hex', () => {
  it('is the hash of JSON.stringify at any depth, undefined members and elements included', () => {
    const values = [fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined)];
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.object({ maxDepth: 4, values })),
        fc.integer({ min: 0, max: 5 }),
        (value, depth) => {
          expect(jsonSha256Hex(value, depth)).toBe(sha256Hex(JSON.stringify(value) ?? 'null'));
        },
      ),
      { numRuns: 500 },
    );
    expect(jsonSha256Hex({ a: [undefined, () => 1, 1], b: undefined, ['__proto__']: 1 })).toBe(
      sha256Hex(JSON.stringify({ a: [undefined, () => 1, 1], b: undefined, ['__proto__']: 1 })),
    );
  });
});
