// Property tests: compile never throws on arbitrary input (only reports), is deterministic, and the
// order of documents does not change a byte of the output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadFolder } from '../source/folder.ts';
import { canonicalJson } from './canonical-json.ts';
import { compile, type SourceObject } from './compile.ts';

const repo = join(import.meta.dirname, '../../..');
const examples = loadFolder(join(repo, 'examples')).objects;
const scenarioObjects = [
  '05-flows',
  '07-products-apps-credentials',
  '09-invalid-objects',
  '10-missing-refs',
  '11-conflicts-and-duplicates',
].flatMap((s) => loadFolder(join(import.meta.dirname, 'testdata', s, 'input.yaml')).objects);
const known = [...examples, ...scenarioObjects];

const kinds = ['ApiProxy', 'ApiPolicy', 'ApiProduct', 'DeveloperApp', 'DataPlane'];
const names = fc.constantFrom('a', 'orders', 'verify-key', 'mobile-key', 'orders-basic', 'Bad_Name', '');

/** Objects shaped like ours, with arbitrary (often wrong) specs. */
const gatehouseObject = fc.record(
  {
    apiVersion: fc.constantFrom('gatehouse.dev/v1alpha1', 'gatehouse.dev/v1', 'v1'),
    kind: fc.constantFrom(...kinds, 'Secret'),
    metadata: fc.record(
      { name: names, namespace: fc.constantFrom('shop', 'default', undefined) },
      { requiredKeys: ['name'] },
    ),
    spec: fc.oneof(
      fc.anything(),
      fc.record(
        {
          basePath: fc.oneof(fc.string(), fc.constantFrom('/x', '/', '/orders/v1')),
          target: fc.oneof(fc.anything(), fc.record({ url: fc.oneof(fc.webUrl(), fc.string()) })),
          type: fc.constantFrom('RaiseFault', 'VerifyAPIKey', 'Quota', 'x'),
          raiseFault: fc.anything(),
          proxies: fc.array(names),
          products: fc.array(fc.record({ name: names })),
          developer: fc.record({ email: fc.emailAddress() }),
          flows: fc.record({
            preFlow: fc.record({ request: fc.array(fc.record({ policy: names, condition: fc.string() })) }),
          }),
          listeners: fc.array(
            fc.record({
              name: names,
              port: fc.integer({ min: -1, max: 70000 }),
              protocol: fc.constantFrom('HTTP', 'HTTPS'),
            }),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    stringData: fc.dictionary(fc.constantFrom('consumerKey', 'consumerSecret'), fc.string()),
  },
  { requiredKeys: ['apiVersion', 'kind', 'metadata'] },
);

const source = fc.oneof(
  fc.anything().map((object): SourceObject => ({ object })),
  gatehouseObject.map((object): SourceObject => ({ object, origin: { file: 'gen.yaml', line: 1 } })),
  fc.constantFrom(...known),
);

describe('compile properties', () => {
  it('never throws on arbitrary objects, and every error names a code and message', () => {
    fc.assert(
      fc.property(fc.array(source, { maxLength: 25 }), (objects) => {
        const result = compile(objects, { credentialHashKey: 'k' });
        for (const d of result.errors) {
          expect(d.code).toMatch(/^GH_ERR_/);
          expect(d.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(fc.array(source, { maxLength: 20 }), (objects) => {
        const copy = structuredClone(objects);
        expect(canonicalJson(compile(objects, { credentialHashKey: 'k' }))).toBe(
          canonicalJson(compile(copy, { credentialHashKey: 'k' })),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('gives the same version and bytes whatever the document order', () => {
    const strip = (objects: SourceObject[]) => objects.map((o) => ({ object: o.object })); // no positions: only order differs
    fc.assert(
      fc.property(fc.shuffledSubarray(known, { minLength: 1 }), fc.func(fc.integer()), (subset, rank) => {
        const shuffled = [...subset].sort((a, b) => rank(a) - rank(b));
        const a = compile(strip(subset), { credentialHashKey: 'k' });
        const b = compile(strip(shuffled), { credentialHashKey: 'k' });
        expect(b.snapshot.version).toBe(a.snapshot.version);
        expect(canonicalJson(b)).toBe(canonicalJson(a));
      }),
      { numRuns: 100 },
    );
  });

  it('changes the version when the input changes', () => {
    const a = compile(examples, { credentialHashKey: 'k' }).snapshot.version;
    const b = compile(examples, { credentialHashKey: 'other' }).snapshot.version;
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives what a cold compile gives when most objects are the ones it saw before (its memos by object)', () => {
    // The operator recompiles the same cached objects with one replaced; validation, Secret decoding and
    // credential hashes are remembered by object (docs/architecture.md#the-operator-at-scale-issue-20).
    // structuredClone gives every object a new identity: nothing remembered applies to the copy.
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), source), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('k', 'other'),
        (changes, key) => {
          let objects = [...known];
          compile(objects, { credentialHashKey: key });
          for (const [at, replacement] of changes) {
            objects = objects.map((o, i) => (i === at % objects.length ? replacement : o));
            const warm = compile(objects, { credentialHashKey: key });
            expect(canonicalJson(warm)).toBe(
              canonicalJson(compile(structuredClone(objects), { credentialHashKey: key })),
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('does not modify its input', () => {
    const before = readFileSync(join(repo, 'examples/shop/orders.yaml'), 'utf8');
    const objects = loadFolder(join(repo, 'examples')).objects;
    const snapshot = structuredClone(objects);
    compile(objects);
    expect(objects).toEqual(snapshot);
    expect(readFileSync(join(repo, 'examples/shop/orders.yaml'), 'utf8')).toBe(before);
  });
});
