// The emitters build values of protos/gen/json's types, so what Envoy (or extproc) would reject is a
// type error before it is a runtime one. Each `@ts-expect-error` below must stay an error: tsc fails on
// one that is not (npm run typecheck). At run time each of those values is also refused by the strict
// codec, so the types and the codec agree on what they forbid.
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../../../protos/gen/json/envoy.config.cluster.v3.ts';
import type { Listener } from '../../../../protos/gen/json/envoy.config.listener.v3.ts';
import type { RuntimeSnapshot } from '../../../../protos/gen/json/gatehouse.v1.ts';
import { encodeEnvoyJson, encodeStrict, envoyCollectionTypes, EnvoyProtoError } from '../../xds/envoy-codec.ts';
import { runtimeRoot, runtimeTypeName } from '../../xds/protos.ts';
import { typeUrls } from './names.ts';

const cluster = (c: Cluster) => c;

const wellTyped: Cluster = {
  name: 'shop/orders',
  connect_timeout: '5s',
  lb_policy: 'ROUND_ROBIN',
  circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: 1024 }] },
  transport_socket: {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': typeUrls.upstreamTls, sni: 'orders.example.com' },
  },
};

const illTyped: Record<string, Cluster> = {
  'a misspelt field': cluster({
    name: 'c',
    // @ts-expect-error -- Cluster has connect_timeout
    conect_timeout: '5s',
  }),
  'a Duration that is not a string': cluster({
    name: 'c',
    // @ts-expect-error -- google.protobuf.Duration is "5s" in proto3 JSON
    connect_timeout: 5,
  }),
  'an enum value Envoy does not have': cluster({
    name: 'c',
    // @ts-expect-error -- Cluster.LbPolicy has ROUND_ROBIN
    lb_policy: 'ROUND_ROBBIN',
  }),
  'a wrapper in its binary shape': cluster({
    name: 'c',
    // @ts-expect-error -- google.protobuf.UInt32Value is a bare number in proto3 JSON
    circuit_breakers: { thresholds: [{ max_connections: { value: 1 } }] },
  }),
  'a misspelt field inside an Any': cluster({
    name: 'c',
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      // @ts-expect-error -- UpstreamTlsContext has sni
      typed_config: { '@type': typeUrls.upstreamTls, snii: 'x' },
    },
  }),
  'an Any of a type nobody packs': cluster({
    name: 'c',
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      // @ts-expect-error -- not a type URL of google.protobuf.Packed
      typed_config: { '@type': 'type.googleapis.com/envoy.Nope' },
    },
  }),
  "a field of another packed type than the Any's": cluster({
    name: 'c',
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      // @ts-expect-error -- sni is UpstreamTlsContext's, not Router's
      typed_config: { '@type': typeUrls.router, sni: 'x' },
    },
  }),
  'a misspelt field in a conditional member': cluster({
    name: 'c',
    // @ts-expect-error -- `satisfies` checks what a spread alone would not
    ...(Date.now() > 0 ? ({ dns_lookup_famly: 'V4_PREFERRED' } satisfies Cluster) : {}),
  }),
};

describe('typed Envoy JSON', () => {
  it('a well-typed Cluster encodes, and a Listener is typed down to its HttpConnectionManager', () => {
    expect(encodeEnvoyJson(envoyCollectionTypes.clusters, wellTyped).length).toBeGreaterThan(0);
    const listener: Listener = {
      name: 'l',
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': typeUrls.httpConnectionManager,
                stat_prefix: 'l',
                codec_type: 'AUTO',
                // @ts-expect-error -- HttpConnectionManager has use_remote_address
                use_remote_adress: true,
              },
            },
          ],
        },
      ],
    };
    expect(() => encodeEnvoyJson(envoyCollectionTypes.listeners, listener)).toThrow(/use_remote_adress/);
  });

  it.each(Object.entries(illTyped))('what tsc refuses, the codec refuses too: %s', (_what, value) => {
    expect(() => encodeEnvoyJson(envoyCollectionTypes.clusters, value)).toThrow(EnvoyProtoError);
  });

  it('the runtime snapshot is typed too, with its lowerCamelCase JSON names', () => {
    const ok: RuntimeSnapshot = { dataPlanes: [{ name: 'edge', messageTimeoutMs: '200' }] };
    expect(encodeStrict(runtimeRoot(), runtimeTypeName, ok).length).toBeGreaterThan(0);
    const bad: RuntimeSnapshot = {
      // @ts-expect-error -- RuntimeSnapshot has dataPlanes
      dataPlane: [],
    };
    expect(() => encodeStrict(runtimeRoot(), runtimeTypeName, bad)).toThrow(/dataPlane/);
  });
});
