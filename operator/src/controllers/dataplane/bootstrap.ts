// The Envoy bootstrap of a DataPlane (envoy.config.bootstrap.v3.Bootstrap, proto3 JSON): everything
// dynamic comes over ADS from the operator's xDS Service, reached with mutual TLS from files the
// certificates controller keeps in the mounted Secrets. Envoy's admin interface listens on loopback
// only (it can stop the server and dump the config); a static listener on every address answers
// /ready for the kubelet's probes and serves /stats/prometheus from the admin. Pure: no I/O.
import { adsConfigSource, socketAddress, typeUrls, type Json } from '../../compile/envoy/names.ts';
import { nodeCluster, paths, ports, type Component } from './names.ts';

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
}

/** The files of the mounted Secrets (kubernetes.io/tls keys, and ca.crt of the trust bundle). */
export const tlsFiles = {
  certificateChain: `${paths.tlsDir}/tls.crt`,
  privateKey: `${paths.tlsDir}/tls.key`,
  trustedCa: `${paths.caDir}/ca.crt`,
} as const;

function xdsCluster(xds: BootstrapInput['xds']): Json {
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
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': typeUrls.upstreamTls,
        sni: xds.host,
        common_tls_context: {
          // Explicit both ways: Envoy's client default tops out at TLS 1.2.
          tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
          alpn_protocols: ['h2'],
          // watched_directory: Kubernetes swaps a Secret volume's files by renaming a symlink in the
          // mount directory; watching it reloads the pair atomically, without a restart.
          tls_certificates: [{
            certificate_chain: { filename: tlsFiles.certificateChain },
            private_key: { filename: tlsFiles.privateKey },
            watched_directory: { path: paths.tlsDir },
          }],
          validation_context: {
            trusted_ca: { filename: tlsFiles.trustedCa },
            watched_directory: { path: paths.caDir },
            // Without a SAN matcher any certificate the CA signed would do.
            match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: xds.host } }],
          },
        },
      },
    },
  };
}

const adminCluster: Json = {
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
const readyListener: Json = {
  name: readyListenerName,
  address: socketAddress('0.0.0.0', ports.envoyReady),
  filter_chains: [{
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': typeUrls.httpConnectionManager,
        stat_prefix: 'gatehouse_ready',
        codec_type: 'AUTO',
        route_config: {
          name: readyListenerName,
          virtual_hosts: [{
            name: readyListenerName,
            domains: ['*'],
            routes: [{ match: { path: '/stats/prometheus' }, route: { cluster: adminClusterName } }],
          }],
        },
        http_filters: [
          {
            name: 'envoy.filters.http.health_check',
            typed_config: { '@type': typeUrlHealthCheck, pass_through_mode: false, headers: [{ name: ':path', string_match: { exact: '/ready' } }] },
          },
          { name: 'envoy.filters.http.router', typed_config: { '@type': typeUrls.router } },
        ],
      },
    }],
  }],
};

/** node.id and node.cluster come from the command line (--service-node $(POD_NAME), --service-cluster). */
export function renderBootstrap(input: BootstrapInput): Json {
  const component: Component = 'envoy';
  return {
    node: {
      // The command line sets the same cluster and the pod's name as id (the ConfigMap is per DataPlane).
      cluster: nodeCluster(input.namespace, input.dataPlane, component),
      ...(input.region ? { locality: { region: input.region } } : {}),
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
      clusters: [xdsCluster(input.xds), adminCluster],
    },
  };
}
