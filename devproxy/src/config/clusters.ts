// Cluster and ClusterLoadAssignment -> ClusterConfig / endpoints: discovery type, load-balancing
// policy, connect timeout and the upstream TLS context (config/tls.ts: SNI, protocol versions and
// cipher suites, client certificate and trusted CA inline, from files or over SDS, SAN matching).
import { ConfigRejectedError } from '../errors.ts';
import { durationMs, unpackAny, type Decoded, type PackedAny } from '../xds/envoy-protos.ts';
import type { ClusterConfig, Endpoint } from './model.ts';
import { parseUpstreamTls } from './tls.ts';

const httpOptionsTypeUrl = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const unhealthy = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

/**
 * HttpProtocolOptions are checked to decode; devproxy speaks HTTP/1.1 upstream and gRPC (HTTP/2) to
 * ext_proc either way. Of their common options only max_connection_duration is read (0: none).
 */
function protocolOptions(c: Decoded, where: string): { maxConnectionDurationMs?: number } {
  let out: { maxConnectionDurationMs?: number } = {};
  for (const [key, any] of Object.entries((c.typed_extension_protocol_options ?? {}) as Record<string, PackedAny>)) {
    if (any.type_url !== httpOptionsTypeUrl)
      throw new ConfigRejectedError(`${where}: protocol options ${key} (${any.type_url}) are not supported`);
    const options = unpackAny(any);
    const common = options.common_http_protocol_options as Decoded | null | undefined;
    const ms = durationMs(common?.max_connection_duration);
    if (ms !== undefined && ms > 0) out = { maxConnectionDurationMs: ms };
  }
  return out;
}

export function parseEndpoints(cla: Decoded): Endpoint[] {
  return (cla.endpoints as Decoded[]).flatMap((locality) =>
    (locality.lb_endpoints as Decoded[]).map((lb) => {
      const socket = ((lb.endpoint as Decoded).address as Decoded).socket_address as Decoded;
      return {
        host: String(socket.address),
        port: Number(socket.port_value),
        healthy: !unhealthy.has(String(lb.health_status)),
      };
    }),
  );
}

export function parseCluster(c: Decoded): ClusterConfig {
  const name = String(c.name);
  const where = `cluster ${name}`;
  const type = c.type;
  if (type !== 'STATIC' && type !== 'STRICT_DNS' && type !== 'EDS' && type !== 'LOGICAL_DNS')
    throw new ConfigRejectedError(`${where}: discovery type ${String(type)} is not supported by devproxy`);
  const lb = String(c.lb_policy);
  if (lb !== 'ROUND_ROBIN' && lb !== 'LEAST_REQUEST' && lb !== 'RANDOM')
    throw new ConfigRejectedError(`${where}: lb_policy ${lb} is not supported by devproxy`);
  const socket = c.transport_socket as Decoded | null;
  const eds = c.eds_cluster_config as { service_name?: string } | null;
  const options = protocolOptions(c, where);
  return {
    name,
    // LOGICAL_DNS behaves as STRICT_DNS here: devproxy resolves per request anyway.
    discovery: type === 'LOGICAL_DNS' ? 'STRICT_DNS' : type,
    edsServiceName: eds?.service_name ? String(eds.service_name) : name,
    lbPolicy: lb,
    dnsFamily:
      (['V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const).find((f) => f === c.dns_lookup_family) ?? 'AUTO',
    connectTimeoutMs: durationMs(c.connect_timeout) ?? 5000,
    ...(socket ? { tls: parseUpstreamTls(socket, where) } : {}),
    endpoints: c.load_assignment ? parseEndpoints(c.load_assignment as Decoded) : [],
    ...options,
  };
}
