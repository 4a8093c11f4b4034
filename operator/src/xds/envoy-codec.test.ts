import { describe, expect, it } from 'vitest';
import { decodeEnvoy, encodeEnvoyJson, envoyCollectionTypes, EnvoyProtoError } from './envoy-codec.ts';
import { typeUrls } from '../compile/envoy/names.ts';

function problems(typeName: string, json: unknown): string[] {
  try {
    encodeEnvoyJson(typeName, json);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvoyProtoError);
    return (err as EnvoyProtoError).problems;
  }
  return [];
}

const cluster = envoyCollectionTypes.clusters;

describe('the strict Envoy proto verifier', () => {
  it('accepts snake_case and lowerCamelCase names and converts well-known types', () => {
    const bytes = encodeEnvoyJson(cluster, {
      name: 'c',
      connectTimeout: '1.5s',
      type: 'STATIC',
      circuit_breakers: { thresholds: [{ max_connections: 10 }] },
      metadata: { filter_metadata: { gatehouse: { route: 'shop/orders', n: 1, ok: true, list: [null] } } },
    });
    const decoded = decodeEnvoy(cluster, bytes);
    expect(decoded.connect_timeout).toEqual({ seconds: '1', nanos: 500_000_000 });
    expect(decoded.circuit_breakers).toEqual({ thresholds: [{ max_connections: { value: 10 } }] });
  });

  it('rejects unknown fields at any depth', () => {
    expect(problems(cluster, { name: 'c', bogus: 1 })).toEqual([
      'Cluster.bogus: unknown field of envoy.config.cluster.v3.Cluster',
    ]);
    expect(
      problems(cluster, {
        name: 'c',
        load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ weight: 1 }] }] },
      }),
    ).toEqual([
      'Cluster.load_assignment.endpoints[0].lb_endpoints[0].weight: unknown field of envoy.config.endpoint.v3.LbEndpoint',
    ]);
  });

  it('rejects unknown fields inside an Any', () => {
    expect(
      problems(cluster, {
        name: 'c',
        transport_socket: { name: 'tls', typed_config: { '@type': typeUrls.upstreamTls, sni: 'x', verify: true } },
      }),
    ).toEqual([
      'Cluster.transport_socket.typed_config.verify: unknown field of envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    ]);
  });

  it('rejects Any URLs that do not resolve, and an Any without @type', () => {
    expect(
      problems(cluster, {
        name: 'c',
        transport_socket: { name: 't', typed_config: { '@type': 'type.googleapis.com/envoy.Nope' } },
      }),
    ).toEqual([
      'Cluster.transport_socket.typed_config: @type type.googleapis.com/envoy.Nope does not resolve to a loaded message type',
    ]);
    expect(problems(cluster, { name: 'c', transport_socket: { name: 't', typed_config: { sni: 'x' } } })).toEqual([
      'Cluster.transport_socket.typed_config: an Any needs "@type"',
    ]);
  });

  it('rejects wrong scalar types, unknown enum values, bad durations and two members of a oneof', () => {
    expect(
      problems(cluster, {
        name: 7,
        type: 'NOPE',
        connect_timeout: '5',
        lb_policy: 'ROUND_ROBIN',
        eds_cluster_config: { service_name: 'x' },
        load_assignment: { cluster_name: 'c', endpoints: 'none' },
      }),
    ).toEqual([
      'Cluster.name: expected a string',
      'Cluster.type: "NOPE" is not a value of envoy.config.cluster.v3.Cluster.DiscoveryType',
      'Cluster.connect_timeout: expected a duration like "1.5s", found "5"',
      'Cluster.load_assignment.endpoints: expected a list',
    ]);
    expect(
      problems(envoyCollectionTypes.routes, {
        name: 'r',
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            routes: [{ match: { prefix: '/', path: '/x' }, direct_response: { status: 200 } }],
          },
        ],
      }),
    ).toEqual(['RouteConfiguration.virtual_hosts[0].routes[0].match.path: oneof path_specifier already has prefix']);
  });

  it('rejects integers out of their sign', () => {
    expect(problems(cluster, { name: 'c', circuit_breakers: { thresholds: [{ max_connections: -1 }] } })).toEqual([
      'Cluster.circuit_breakers.thresholds[0].max_connections: expected an integer (uint32)',
    ]);
  });
});
