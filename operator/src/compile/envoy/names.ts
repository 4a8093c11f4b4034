// Names and type URLs shared by the Envoy translators (and the xDS server).
import type { Address, ConfigSource } from '../../../../protos/gen/json/envoy.config.core.v3.ts';
import type { TlsParameters_TlsProtocol } from '../../../../protos/gen/json/envoy.extensions.transport_sockets.tls.v3.ts';
import type { Any, AnyOf, Packed } from '../../../../protos/gen/json/google.protobuf.ts';
import type { TlsVersion } from '../../api/common.ts';

/** The cluster a DataPlane's Envoys reach its own extproc by (two slashes: never a proxy's "namespace/name"). */
export const extProcClusterName = (dataPlane: { namespace: string; name: string }) =>
  `gatehouse-extproc/${dataPlane.namespace}/${dataPlane.name}`;
/** The cluster a DataPlane's Envoys send spans by, to its OpenTelemetry collector (envoy/tracing.ts). */
export const tracingClusterName = (dataPlane: { namespace: string; name: string }) =>
  `gatehouse-otel/${dataPlane.namespace}/${dataPlane.name}`;
export const extProcFilterName = 'envoy.filters.http.ext_proc';
/** gRPC metadata on every ext_proc stream naming the proxy ("namespace/name"), docs/architecture.md#the-envoy-and-extproc-contract. */
export const routeMetadataKey = 'x-gatehouse-route';

const api = 'type.googleapis.com/envoy';
export const typeUrls = {
  listener: `${api}.config.listener.v3.Listener`,
  routeConfiguration: `${api}.config.route.v3.RouteConfiguration`,
  cluster: `${api}.config.cluster.v3.Cluster`,
  clusterLoadAssignment: `${api}.config.endpoint.v3.ClusterLoadAssignment`,
  httpConnectionManager: `${api}.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  extProc: `${api}.extensions.filters.http.ext_proc.v3.ExternalProcessor`,
  extProcPerRoute: `${api}.extensions.filters.http.ext_proc.v3.ExtProcPerRoute`,
  router: `${api}.extensions.filters.http.router.v3.Router`,
  downstreamTls: `${api}.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
  upstreamTls: `${api}.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  httpProtocolOptions: `${api}.extensions.upstreams.http.v3.HttpProtocolOptions`,
  secret: `${api}.extensions.transport_sockets.tls.v3.Secret`,
  stdoutAccessLog: `${api}.extensions.access_loggers.stream.v3.StdoutAccessLog`,
  openTelemetryConfig: `${api}.config.trace.v3.OpenTelemetryConfig`,
} as const;

/** Resources of the same xDS delivery (ADS). */
export const adsConfigSource: ConfigSource = { ads: {}, resource_api_version: 'V3' };

const envoyTlsVersions: Record<TlsVersion, TlsParameters_TlsProtocol> = {
  'TLSv1.0': 'TLSv1_0',
  'TLSv1.1': 'TLSv1_1',
  'TLSv1.2': 'TLSv1_2',
  'TLSv1.3': 'TLSv1_3',
};
export const envoyTlsVersion = (v: TlsVersion) => envoyTlsVersions[v];

export function socketAddress(host: string, port: number): Address {
  return { socket_address: { address: host, port_value: port } };
}

/** The message `any` packs when its type URL is `url`, else undefined (for code reading compiled resources). */
export function unpack<U extends keyof Packed>(any: Any | undefined, url: U): AnyOf<U> | undefined {
  return any?.['@type'] === url ? (any as AnyOf<U>) : undefined;
}
