// spec.extproc.maxConnectionAge on Envoy's side (docs/operations.md#connection-age): the DataPlane's
// ext_proc cluster gets max_connection_duration at 80% of the age, so Envoy retires its own ext_proc
// connections (no stream refused) before extproc's GOAWAY at 90-110% of it; other DataPlanes' clusters
// and a DataPlane without the field get none. The cluster stays strict envoy.config.cluster.v3.Cluster.
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../../../protos/gen/json/envoy.config.cluster.v3.ts';
import { encodeStrict, envoyRoot } from '../../xds/envoy-codec.ts';
import { compile } from '../compile.ts';
import { envoyConnectionAgeMs } from './clusters.ts';
import { typeUrls, unpack } from './names.ts';

const dataPlane = (namespace: string, extproc?: object) => ({
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'DataPlane',
  metadata: { name: 'edge', namespace, uid: `uid-${namespace}` },
  spec: extproc ? { extproc } : {},
});

function extProcClusters(objects: object[]): Map<string, Cluster> {
  const { snapshot, errors } = compile(
    objects.map((object) => ({ object })),
    { credentialHashKey: 'k' },
  );
  expect(errors).toEqual([]);
  return new Map(
    snapshot.envoy.clusters.filter((c) => c.name!.startsWith('gatehouse-extproc/')).map((c) => [c.name!, c]),
  );
}

const protocolOptions = (c: Cluster) =>
  unpack(
    c.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'],
    typeUrls.httpProtocolOptions,
  )!;

describe('spec.extproc.maxConnectionAge on the ext_proc cluster', () => {
  it("retires Envoy's ext_proc connections at 80% of the age, per DataPlane", () => {
    const clusters = extProcClusters([
      dataPlane('tenant-a', { maxConnectionAge: '30m', maxConnectionAgeGrace: '5m' }),
      dataPlane('tenant-b'),
      dataPlane('tenant-c', { maxConnectionAge: '0s' }),
    ]);
    const a = clusters.get('gatehouse-extproc/tenant-a/edge')!;
    expect(protocolOptions(a)).toEqual({
      '@type': typeUrls.httpProtocolOptions,
      common_http_protocol_options: { max_connection_duration: '1440s' },
      explicit_http_config: { http2_protocol_options: {} },
    });
    expect(encodeStrict(envoyRoot(), 'envoy.config.cluster.v3.Cluster', a).length).toBeGreaterThan(0);
    for (const other of ['gatehouse-extproc/tenant-b/edge', 'gatehouse-extproc/tenant-c/edge'])
      expect(protocolOptions(clusters.get(other)!).common_http_protocol_options).toBeUndefined();
  });

  it("is always below extproc's own GOAWAY (90% of the age at the earliest)", () => {
    for (const ms of [1000, 1001, 59_999, 1_800_000, 86_400_000]) {
      expect(envoyConnectionAgeMs(ms)).toBeLessThan(ms * 0.9);
      expect(envoyConnectionAgeMs(ms)).toBeGreaterThan(0);
    }
    expect(envoyConnectionAgeMs(1000)).toBe(800);
  });

  it('a DataPlane the rules refuse gets no cluster option (the compiler reports it on the field)', () => {
    const { errors, snapshot } = compile([{ object: dataPlane('tenant-x', { maxConnectionAge: '600h' }) }], {
      credentialHashKey: 'k',
    });
    expect(errors.map((e) => e.field)).toContain('spec.extproc.maxConnectionAge');
    for (const c of snapshot.envoy.clusters)
      if (c.name!.startsWith('gatehouse-extproc/'))
        expect(protocolOptions(c).common_http_protocol_options).toBeUndefined();
  });
});
