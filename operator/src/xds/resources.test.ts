import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../../protos/gen/json/envoy.config.cluster.v3.ts';
import type { RuntimeSnapshot } from '../../../protos/gen/json/gatehouse.v1.ts';
import { compile } from '../compile/compile.ts';
import { decodeEnvoy, encodeStrict, EnvoyProtoError } from './envoy-codec.ts';
import { loadFolder } from '../source/folder.ts';
import { runtimeRoot, runtimeTypeName, typeUrls } from './protos.ts';
import { SnapshotEncoder, type EncodedSnapshot } from './resources.ts';
import { testSnapshot } from './control-plane.test-support.ts';

const examples = compile(loadFolder(new URL('../../../examples', import.meta.url).pathname).objects).snapshot;

const onlyView = (views: Map<string, EncodedSnapshot>): EncodedSnapshot => {
  expect(views.size).toBe(1);
  return [...views.values()][0]!;
};

describe('SnapshotEncoder', () => {
  it('encodes the runtime piecewise to exactly the bytes of encoding it whole', () => {
    for (const snapshot of [examples, testSnapshot(5)]) {
      const encoded = onlyView(new SnapshotEncoder().encode(snapshot));
      const runtime = encoded.resources.get(typeUrls.runtime)!.get('runtime')!;
      expect(runtime.any.type_url).toBe('type.googleapis.com/gatehouse.v1.RuntimeSnapshot');
      expect(
        Buffer.compare(
          runtime.any.value,
          Buffer.from(
            encodeStrict(runtimeRoot(), runtimeTypeName, {
              version: snapshot.version,
              ...snapshot.dataPlanes[0]!.runtime,
            }),
          ),
        ),
      ).toBe(0);
    }
  });

  it("packs every Envoy resource under its type URL and name, decodable with Envoy's protos", () => {
    const encoded = onlyView(new SnapshotEncoder().encode(examples));
    expect(encoded.version).toBe(examples.version);
    const listeners = encoded.resources.get(typeUrls.listener)!;
    expect([...listeners.keys()]).toEqual(examples.envoy.listeners.map((l) => l.name));
    const route = encoded.resources.get(typeUrls.route)!.get('gatehouse-system/local/http')!;
    expect(decodeEnvoy('envoy.config.route.v3.RouteConfiguration', route.any.value)).toMatchObject({
      name: 'gatehouse-system/local/http',
    });
    expect(encoded.resources.get(typeUrls.cluster)!.size).toBe(examples.envoy.clusters.length);
  });

  it('re-encodes only what changed, and versions resources by content', () => {
    const encoder = new SnapshotEncoder();
    const a = onlyView(encoder.encode(testSnapshot(3)));
    const b = onlyView(encoder.encode(testSnapshot(3, { header: 'two' })));
    const versions = (s: typeof a, type: string) => [...s.resources.get(type as never)!.values()].map((r) => r.version);
    expect(versions(b, typeUrls.cluster)).toEqual(versions(a, typeUrls.cluster));
    expect(versions(b, typeUrls.runtime)).not.toEqual(versions(a, typeUrls.runtime));
    expect(a.resources.get(typeUrls.cluster)!.get('shop/api-0')!.any.value).toBe(
      b.resources.get(typeUrls.cluster)!.get('shop/api-0')!.any.value,
    );
  });

  it('refuses a resource Envoy would reject, naming the field', () => {
    const bad = testSnapshot(1);
    // Not a Cluster field: only a cast gets it past tsc.
    bad.envoy.clusters[0] = { ...bad.envoy.clusters[0], not_a_field: true } as Cluster;
    expect(() => new SnapshotEncoder().encode(bad)).toThrow(EnvoyProtoError);
    expect(() => new SnapshotEncoder().encode(bad)).toThrow(/not_a_field/);
    const good = testSnapshot(1);
    const badRuntime = {
      ...good,
      dataPlanes: [{ ...good.dataPlanes[0]!, runtime: { nope: 1 } as RuntimeSnapshot }],
    };
    expect(() => new SnapshotEncoder().encode(badRuntime)).toThrow(/nope/);
  });
});
