// The Envoy bootstrap of a DataPlane (envoy.config.bootstrap.v3.Bootstrap, proto3 JSON): everything
// dynamic comes over ADS from the operator's xDS Service. With mutual TLS, Envoy's client certificate
// and trust bundle come from the mounted Secrets through filesystem SDS files kept next to the
// bootstrap (bootstrapSdsFiles), so a renewed certificate is reloaded without a restart. Envoy's admin
// interface listens on loopback only (it can stop the server and dump the config); a static listener
// on every address answers /ready for the kubelet's probes and serves /stats/prometheus from the
// admin. Pure: no I/O.
import { isIP } from 'node:net';
import type { Bootstrap } from '../../../../protos/gen/json/envoy.config.bootstrap.v3.ts';
import type { Cluster } from '../../../../protos/gen/json/envoy.config.cluster.v3.ts';
import type { Node, TransportSocket } from '../../../../protos/gen/json/envoy.config.core.v3.ts';
import type { Listener } from '../../../../protos/gen/json/envoy.config.listener.v3.ts';
import type { UpstreamTlsContext } from '../../../../protos/gen/json/envoy.extensions.transport_sockets.tls.v3.ts';
import { adsConfigSource, socketAddress, typeUrls } from '../../compile/envoy/names.ts';
import {
  certificateSdsFile,
  extProcTlsSdsFiles,
  fileSdsSecretConfig,
  sanMatcher,
  validationSdsFile,
} from '../../compile/envoy/tls.ts';
import { extProcTlsFor } from './extproc-link.ts';
import { nodeCluster, paths, ports, tlsFiles, xdsSdsFileNames, xdsSdsNames, type Component } from '../../api/names.ts';

export const xdsClusterName = 'gatehouse-xds';
export const adminClusterName = 'gatehouse-admin';
export const readyListenerName = 'gatehouse-ready';

/** The bootstrap's message type. */
export const bootstrapType = 'envoy.config.bootstrap.v3.Bootstrap';

/** The .proto files of the bootstrap and of every type it packs in an Any: what a strict check of it loads. */
export const bootstrapProtoFiles: readonly string[] = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/health_check/v3/health_check.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
];

const typeUrlHealthCheck = 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck';

export interface BootstrapInput {
  namespace: string;
  dataPlane: string;
  region?: string;
  /** The operator's xDS Service: a DNS name (checked against the server certificate) and port. */
  xds: { host: string; port: number };
  /** Mutual TLS to xDS (and the SDS files of the extproc cluster's); default plain text. */
  mtls?: boolean;
}

// The filesystem SDS secrets of the xDS cluster (Envoy's client certificate and its trust bundle) and
// their files, keys of the bootstrap ConfigMap next to bootstrap.json: xdsSdsNames, xdsSdsFileNames.
const inBootstrapDir = (file: string) => `${paths.envoyBootstrapDir}/${file}`;

/**
 * The files Envoy reads next to bootstrap.json (keys of the bootstrap ConfigMap): with mutual TLS, the
 * SDS files of the xDS cluster and those the compiled `gatehouse-extproc` cluster names (extProcTlsFor);
 * nothing in plain text. They point at the mounted Secrets' files and watch their directories, so
 * kubelet's swap of a renewed Secret is picked up in place.
 */
export function bootstrapSdsFiles(input: BootstrapInput): Record<string, string> {
  if (!input.mtls) return {};
  const files: Record<string, string> = {
    [xdsSdsFileNames.certificate]: certificateSdsFile(
      xdsSdsNames.certificate,
      tlsFiles.certificateChain,
      tlsFiles.privateKey,
    ),
    [xdsSdsFileNames.validation]: validationSdsFile(xdsSdsNames.validation, tlsFiles.trustedCa),
    ...extProcTlsSdsFiles(extProcTlsFor(input.namespace, input.dataPlane)),
  };
  return Object.fromEntries(Object.entries(files).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/**
 * Mutual TLS to the xDS server. Certificate and trust bundle come through filesystem SDS: Envoy
 * re-reads certificate files (watched_directory) only in SDS-delivered secrets, never in inline ones.
 */
function xdsTransportSocket(host: string): TransportSocket {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': typeUrls.upstreamTls,
      // An address is never sent as SNI (RFC 6066); it is checked against an IP SAN instead.
      ...(isIP(host) ? {} : ({ sni: host } satisfies UpstreamTlsContext)),
      common_tls_context: {
        // Explicit both ways: Envoy's client default tops out at TLS 1.2.
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
        alpn_protocols: ['h2'],
        tls_certificate_sds_secret_configs: [
          fileSdsSecretConfig(xdsSdsNames.certificate, inBootstrapDir(xdsSdsFileNames.certificate)),
        ],
        combined_validation_context: {
          // Without a SAN matcher any certificate the CA signed would do.
          default_validation_context: { match_typed_subject_alt_names: [sanMatcher(host)] },
          validation_context_sds_secret_config: fileSdsSecretConfig(
            xdsSdsNames.validation,
            inBootstrapDir(xdsSdsFileNames.validation),
          ),
        },
      },
    },
  };
}

function xdsCluster(xds: BootstrapInput['xds'], mtls: boolean): Cluster {
  return {
    name: xdsClusterName,
    type: 'STRICT_DNS',
    dns_lookup_family: 'V4_PREFERRED',
    connect_timeout: '5s',
    lb_policy: 'ROUND_ROBIN',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': typeUrls.httpProtocolOptions,
        // ADS is one long-lived gRPC stream: keepalive notices a dead peer behind a silent network.
        explicit_http_config: { http2_protocol_options: { connection_keepalive: { interval: '30s', timeout: '5s' } } },
      },
    },
    load_assignment: {
      cluster_name: xdsClusterName,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(xds.host, xds.port) } }] }],
    },
    ...(mtls ? ({ transport_socket: xdsTransportSocket(xds.host) } satisfies Cluster) : {}),
  };
}

const adminCluster: Cluster = {
  name: adminClusterName,
  type: 'STATIC',
  connect_timeout: '1s',
  load_assignment: {
    cluster_name: adminClusterName,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', ports.envoyAdmin) } }] }],
  },
};

/**
 * /ready from the health_check filter (200 once the server is initialised and not draining: Envoy
 * accepts on its listeners only after the first xDS fetch); /stats/prometheus proxied to the admin.
 */
const readyListener: Listener = {
  name: readyListenerName,
  address: socketAddress('0.0.0.0', ports.envoyReady),
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': typeUrls.httpConnectionManager,
            stat_prefix: 'gatehouse_ready',
            codec_type: 'AUTO',
            route_config: {
              name: readyListenerName,
              virtual_hosts: [
                {
                  name: readyListenerName,
                  domains: ['*'],
                  routes: [{ match: { path: '/stats/prometheus' }, route: { cluster: adminClusterName } }],
                },
              ],
            },
            http_filters: [
              {
                name: 'envoy.filters.http.health_check',
                typed_config: {
                  '@type': typeUrlHealthCheck,
                  pass_through_mode: false,
                  headers: [{ name: ':path', string_match: { exact: '/ready' } }],
                },
              },
              { name: 'envoy.filters.http.router', typed_config: { '@type': typeUrls.router } },
            ],
          },
        },
      ],
    },
  ],
};

/** node.id and node.cluster come from the command line (--service-node $(POD_NAME), --service-cluster). */
export function renderBootstrap(input: BootstrapInput): Bootstrap {
  const component: Component = 'envoy';
  return {
    node: {
      // The command line sets the same cluster and the pod's name as id (the ConfigMap is per DataPlane).
      cluster: nodeCluster(input.namespace, input.dataPlane, component),
      ...(input.region ? ({ locality: { region: input.region } } satisfies Node) : {}),
      metadata: { namespace: input.namespace, dataPlane: input.dataPlane, component },
    },
    admin: { address: socketAddress('127.0.0.1', ports.envoyAdmin) },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: xdsClusterName } }],
        set_node_on_first_message_only: true,
      },
      cds_config: adsConfigSource,
      lds_config: adsConfigSource,
    },
    static_resources: {
      listeners: [readyListener],
      clusters: [xdsCluster(input.xds, input.mtls ?? false), adminCluster],
    },
  };
}
