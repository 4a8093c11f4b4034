// OpenTelemetry tracing of a DataPlane's HttpConnectionManagers (docs/operations.md#tracing): Envoy's
// envoy.tracers.opentelemetry (OpenTelemetryConfig) exporting over Envoy gRPC to a cluster of its
// own that reaches the collector, random_sampling from spec.tracing.samplingPercent. Envoy then makes a
// span per request, hands its context to extproc in the ext_proc stream's gRPC metadata and to the
// upstream in the request's traceparent; extproc's stream and policy spans are children of it.
import type { Cluster } from '../../../../protos/gen/json/envoy.config.cluster.v3.ts';
import type { HttpConnectionManager_Tracing } from '../../../../protos/gen/json/envoy.extensions.filters.network.http_connection_manager.v3.ts';
import { isIP } from 'node:net';
import type { IrDataPlane, IrTracing } from '../ir.ts';
import { socketAddress, tracingClusterName, typeUrls } from './names.ts';
import type { SdsSecretRefs } from './secrets.ts';
import { upstreamTls } from './tls.ts';

/** HttpConnectionManager.tracing for a DataPlane that traces. */
export function emitTracing(dp: IrDataPlane, tracing: IrTracing): HttpConnectionManager_Tracing {
  return {
    random_sampling: { value: tracing.samplingPercent },
    provider: {
      name: 'envoy.tracers.opentelemetry',
      typed_config: {
        '@type': typeUrls.openTelemetryConfig,
        grpc_service: { envoy_grpc: { cluster_name: tracingClusterName(dp) } },
        service_name: tracing.serviceName,
      },
    },
  };
}

/**
 * The cluster Envoy exports spans by: HTTP/2 (OTLP is gRPC), the collector's address, and with
 * spec.tracing.tls an UpstreamTlsContext (CA and client certificate over SDS, ALPN h2, SNI and a SAN
 * matcher on the server name).
 */
export function tracingCluster(dp: IrDataPlane, tracing: IrTracing, sds: SdsSecretRefs): Cluster {
  const name = tracingClusterName(dp);
  const { host, port } = tracing.collector;
  return {
    name,
    type: isIP(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    ...(tracing.tls ? ({ transport_socket: upstreamTls(tracing.tls, sds, ['h2']) } satisfies Cluster) : {}),
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': typeUrls.httpProtocolOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(host, port) } }] }],
    },
  };
}
