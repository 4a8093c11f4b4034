// examples/ is what `gatehouse dev` serves: it must compile with no error, and its Envoy resources
// must encode with Envoy's protos.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFolder } from '../source/folder.ts';
import { compile } from './compile.ts';
import { encodeEnvoyJson, envoyCollectionTypes } from '../xds/envoy-codec.ts';

const loaded = loadFolder(join(import.meta.dirname, '../../../examples'));
const result = compile(loaded.objects, { credentialHashKey: 'examples' });

describe('examples/', () => {
  it('loads and compiles with zero errors', () => {
    expect(loaded.diagnostics).toEqual([]);
    expect(result.errors).toEqual([]);
    expect(result.accepted.every((s) => s.accepted)).toBe(true);
  });

  it("has docs/policies.md's orders proxy and a second proxy with a conditional flow and a fault rule", () => {
    const proxies = result.snapshot.runtime.proxies ?? [];
    expect(proxies.map((p) => p.name)).toEqual(['catalog', 'orders']);
    expect(proxies[0]!.faultRules?.length).toBeGreaterThan(0);
    expect(proxies[0]!.flows?.conditionalFlows?.length).toBeGreaterThan(0);
    expect(result.snapshot.runtime.apps?.length).toBe(1);
  });

  it("encodes every Envoy resource with Envoy's protos", () => {
    for (const [collection, typeName] of Object.entries(envoyCollectionTypes)) {
      for (const resource of result.snapshot.envoy[collection as keyof typeof envoyCollectionTypes]) {
        expect(encodeEnvoyJson(typeName, resource).length).toBeGreaterThan(0);
      }
    }
  });
});
