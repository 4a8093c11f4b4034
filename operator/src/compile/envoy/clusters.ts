// Clusters: one per proxy target (static, DNS or EDS) with explicit timeouts, circuit breakers, TLS
// and, for Service targets, health checks; the ext_proc cluster (HTTP/2); and the
// ClusterLoadAssignments of the EDS clusters.
import { isIP } from 'node:net';
import type { CircuitBreakers, Cluster } from '../../../../protos/gen/json/envoy.config.cluster.v3.ts';
import type { ClusterLoadAssignment } from '../../../../protos/gen/json/envoy.config.endpoint.v3.ts';
import { protoDuration } from '../durations.ts';
import type { IrCluster, IrDataPlane, IrEndpoint, IrExtProcTls, IrProxy } from '../ir.ts';
import { adsConfigSource, extProcClusterName, socketAddress, typeUrls } from './names.ts';
import type { SdsSecretRefs } from './secrets.ts';
import { extProcUpstreamTls, upstreamTls } from './tls.ts';

export const connectTimeout = '5s';
/** Per-cluster limits; Envoy's own defaults (1024) made explicit so a review sees them. */
const circuitBreakers: CircuitBreakers = {
  thresholds: [
    { priority: 'DEFAULT', max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 },
  ],
};
const lbPolicies = { RoundRobin: 'ROUND_ROBIN', LeastRequest: 'LEAST_REQUEST', Random: 'RANDOM' } as const;

function loadAssignment(clusterName: string, endpoints: readonly IrEndpoint[]): ClusterLoadAssignment {
  return {
    cluster_name: clusterName,
    endpoints:
      endpoints.length === 0
        ? []
        : [{ lb_endpoints: endpoints.map((e) => ({ endpoint: { address: socketAddress(e.host, e.port) } })) }],
  };
}

function upstreamCluster(c: IrCluster, sds: SdsSecretRefs): Cluster {
  const common: Cluster = {
    name: c.name,
    connect_timeout: connectTimeout,
    lb_policy: lbPolicies[c.loadBalancer],
    circuit_breakers: circuitBreakers,
    ...(c.tls ? ({ transport_socket: upstreamTls(c.tls, sds) } satisfies Cluster) : {}),
  };
  if (c.discovery === 'eds') {
    return {
      ...common,
      type: 'EDS',
      eds_cluster_config: { eds_config: adsConfigSource, service_name: c.name },
      health_checks: [
        { timeout: '1s', interval: '10s', unhealthy_threshold: 3, healthy_threshold: 1, tcp_health_check: {} },
      ],
    };
  }
  return {
    ...common,
    type: c.discovery === 'static' ? 'STATIC' : 'STRICT_DNS',
    ...(c.discovery === 'dns' ? ({ dns_lookup_family: 'V4_PREFERRED' } satisfies Cluster) : {}),
    load_assignment: loadAssignment(c.name, c.endpoints),
  };
}

/**
 * spec.extproc.maxConnectionAge on Envoy's side: Envoy drains its own ext_proc connections at 80% of
 * the age (ActiveClient::onConnectionDurationTimeout: no new streams on it, the open ones finish),
 * before extproc's GOAWAY at 90-110% of it. A connection the client retires refuses no stream; a
 * GOAWAY from the server refuses those Envoy opened while it was on its way, and Envoy retries none
 * (docs/operations.md#connection-age). extproc's own age stays the bound for any other client.
 */
export function envoyConnectionAgeMs(maxConnectionAgeMs: number): number {
  return Math.max(1, Math.floor(maxConnectionAgeMs * 0.8));
}

/** Where (and with what TLS) a DataPlane's Envoys reach its extproc. */
export interface ExtProcLink {
  endpoint: IrEndpoint;
  tls?: IrExtProcTls;
}

/** The DataPlane's own extproc cluster (HTTP/2, mutual TLS when `tls`). */
export function extProcCluster(dataPlane: IrDataPlane, link: ExtProcLink): Cluster {
  const name = extProcClusterName(dataPlane);
  const { host, port } = link.endpoint;
  return {
    name,
    type: isIP(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    circuit_breakers: circuitBreakers,
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': typeUrls.httpProtocolOptions,
        ...(dataPlane.extProcMaxConnectionAgeMs
          ? {
              common_http_protocol_options: {
                max_connection_duration: protoDuration(envoyConnectionAgeMs(dataPlane.extProcMaxConnectionAgeMs)),
              },
            }
          : {}),
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: loadAssignment(name, [{ host, port }]),
    ...(link.tls ? ({ transport_socket: extProcUpstreamTls(link.tls) } satisfies Cluster) : {}),
  };
}

/** The upstream clusters of `proxies`. */
export function emitClusters(proxies: readonly IrProxy[], sds: SdsSecretRefs): Cluster[] {
  return proxies.map((p) => upstreamCluster(p.cluster, sds));
}

/** ClusterLoadAssignments of the EDS clusters, from the ready endpoints of their Services. */
export function emitEndpoints(
  proxies: readonly IrProxy[],
  serviceEndpoints: ReadonlyMap<string, IrEndpoint[]>,
): ClusterLoadAssignment[] {
  return proxies
    .filter((p) => p.cluster.discovery === 'eds')
    .map((p) =>
      loadAssignment(
        p.cluster.name,
        p.cluster.services.flatMap((s) => serviceEndpoints.get(`${s.namespace}/${s.name}:${s.port}`) ?? []),
      ),
    );
}
