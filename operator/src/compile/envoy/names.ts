// Names and type URLs shared by the Envoy translators (and, later, the xDS server).
import type { TlsVersion } from '../../api/common.ts';
import { sdsCaName, sdsCertificateName } from '../../api/names.ts';

export const routeConfigName = 'gatehouse';
export const extProcClusterName = 'gatehouse-extproc';
export const extProcFilterName = 'envoy.filters.http.ext_proc';
/** gRPC metadata on every ext_proc stream naming the proxy ("namespace/name"), DESIGN 6. */
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
} as const;

/** Resources of the same xDS delivery (ADS). */
export const adsConfigSource = { ads: {}, resource_api_version: 'V3' };

/** SDS secret names: the certificate (tls.crt/tls.key) or the CA bundle (ca.crt) of a Secret (api/names.ts). */
export { sdsCaName as sdsCa, sdsCertificateName as sdsCertificate };

export const envoyTlsVersion = (v: TlsVersion) => v.replace('.', '_');

export type Json = Record<string, unknown>;

export function socketAddress(host: string, port: number): Json {
  return { socket_address: { address: host, port_value: port } };
}
