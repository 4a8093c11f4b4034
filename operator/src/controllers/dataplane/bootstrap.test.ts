// The bootstrap is proved against Envoy's real protos: unknown fields, wrong types, unresolvable Any
// types fail (docs/architecture-devproxy.md.1). So are the filesystem SDS files next to it (DiscoveryResponses).
import { describe, expect, it } from 'vitest';
import { loadEnvoyRoot } from '../../../../protos/envoy.ts';
import { EnvoyProtoError, encodeStrict, envoyRoot } from '../../xds/envoy-codec.ts';
import {
  adminClusterName,
  bootstrapProtoFiles,
  bootstrapSdsFiles,
  bootstrapType,
  readyListenerName,
  renderBootstrap,
  xdsClusterName,
  type BootstrapInput,
} from './bootstrap.ts';

const root = loadEnvoyRoot(bootstrapProtoFiles);

const input: BootstrapInput = {
  namespace: 'edge',
  dataPlane: 'eu',
  region: 'eu-west-1',
  xds: { host: 'gatehouse-xds.gatehouse-system.svc', port: 18000 },
};
const mtls: BootstrapInput = { ...input, mtls: true };

// The parts of a rendered bootstrap these tests read, in Envoy's JSON field names.
type AddressView = { socket_address: unknown };
type UpstreamTlsView = {
  sni?: string;
  common_tls_context: {
    tls_params?: unknown;
    tls_certificates?: unknown;
    validation_context?: unknown;
    tls_certificate_sds_secret_configs?: unknown;
    combined_validation_context: { default_validation_context: { match_typed_subject_alt_names: unknown } };
  };
};
type ClusterView = {
  name: string;
  transport_socket?: { typed_config: UpstreamTlsView };
  load_assignment: { endpoints: { lb_endpoints: { endpoint: { address: AddressView } }[] }[] };
};
type BootstrapView = {
  admin: { address: AddressView };
  dynamic_resources: { ads_config: unknown; cds_config: unknown; lds_config: unknown };
  static_resources: { clusters: ClusterView[]; listeners: { name: string; address: AddressView }[] };
};
const render = (i: BootstrapInput) => renderBootstrap(i) as BootstrapView;

describe('renderBootstrap', () => {
  it('encodes strictly as envoy.config.bootstrap.v3.Bootstrap, in plain text and with mutual TLS', () => {
    expect(encodeStrict(root, bootstrapType, renderBootstrap(input)).length).toBeGreaterThan(0);
    expect(encodeStrict(root, bootstrapType, renderBootstrap(mtls)).length).toBeGreaterThan(0);
  });

  it('encodes without a region too', () => {
    expect(encodeStrict(root, bootstrapType, renderBootstrap({ ...input, region: undefined })).length).toBeGreaterThan(
      0,
    );
  });

  it('the verifier would catch a misspelt field (so the test above means something)', () => {
    const bad = renderBootstrap(input) as { dynamic_resources: Record<string, unknown> };
    bad.dynamic_resources.ads_config = {
      ...(bad.dynamic_resources.ads_config as object),
      set_node_on_first_message: true,
    };
    expect(() => encodeStrict(root, bootstrapType, bad)).toThrow(EnvoyProtoError);
  });

  it('gets everything over ADS from the xDS cluster, in plain text without mtls (and reads no file)', () => {
    const b = render(input);
    expect(b.dynamic_resources.ads_config).toMatchObject({
      api_type: 'GRPC',
      transport_api_version: 'V3',
      grpc_services: [{ envoy_grpc: { cluster_name: xdsClusterName } }],
    });
    expect(b.dynamic_resources.cds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    expect(b.dynamic_resources.lds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    const xds = b.static_resources.clusters.find((c) => c.name === xdsClusterName)!;
    expect(xds.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address).toEqual({
      address: input.xds.host,
      port_value: 18000,
    });
    expect(xds.transport_socket).toBeUndefined();
    expect(JSON.stringify(b)).not.toMatch(/\/etc\/gatehouse|filename|path_config_source/);
    expect(bootstrapSdsFiles(input)).toEqual({});
  });

  it('with mtls: mutual TLS to xDS through filesystem SDS (reloaded on renewal), checked against the Service name', () => {
    const b = render(mtls);
    const tls = b.static_resources.clusters.find((c) => c.name === xdsClusterName)!.transport_socket!.typed_config;
    expect(tls.sni).toBe(input.xds.host);
    expect(tls.common_tls_context.tls_params).toEqual({
      tls_minimum_protocol_version: 'TLSv1_2',
      tls_maximum_protocol_version: 'TLSv1_3',
    });
    // No inline certificate files: Envoy would read those once and never reload them.
    expect(tls.common_tls_context.tls_certificates).toBeUndefined();
    expect(tls.common_tls_context.validation_context).toBeUndefined();
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs).toEqual([
      {
        name: 'gatehouse-xds-client',
        sds_config: {
          path_config_source: { path: '/etc/envoy/sds-xds-client.json', watched_directory: { path: '/etc/envoy' } },
          resource_api_version: 'V3',
        },
      },
    ]);
    expect(tls.common_tls_context.combined_validation_context).toEqual({
      default_validation_context: {
        match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: input.xds.host } }],
      },
      validation_context_sds_secret_config: {
        name: 'gatehouse-xds-ca',
        sds_config: {
          path_config_source: { path: '/etc/envoy/sds-xds-ca.json', watched_directory: { path: '/etc/envoy' } },
          resource_api_version: 'V3',
        },
      },
    });
  });

  it('with mtls: the SDS files name the mounted Secret files, watch their directories, and are strict DiscoveryResponses', () => {
    const files = bootstrapSdsFiles(mtls);
    // The xDS cluster's, and the ones the compiled gatehouse-extproc cluster names (extProcTls).
    expect(Object.keys(files)).toEqual([
      'sds-extproc-ca.json',
      'sds-extproc-client.json',
      'sds-xds-ca.json',
      'sds-xds-client.json',
    ]);
    for (const text of Object.values(files)) {
      expect(
        encodeStrict(envoyRoot(), 'envoy.service.discovery.v3.DiscoveryResponse', JSON.parse(text)).length,
      ).toBeGreaterThan(0);
    }
    expect(JSON.parse(files['sds-xds-client.json']!)).toEqual({
      resources: [
        {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
          name: 'gatehouse-xds-client',
          tls_certificate: {
            certificate_chain: { filename: '/etc/gatehouse/tls/tls.crt' },
            private_key: { filename: '/etc/gatehouse/tls/tls.key' },
            watched_directory: { path: '/etc/gatehouse/tls' },
          },
        },
      ],
    });
    expect(JSON.parse(files['sds-xds-ca.json']!)).toEqual({
      resources: [
        {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
          name: 'gatehouse-xds-ca',
          validation_context: {
            trusted_ca: { filename: '/etc/gatehouse/ca/ca.crt' },
            watched_directory: { path: '/etc/gatehouse/ca' },
          },
        },
      ],
    });
  });

  it('with mtls to an xDS address: no SNI, the IP SAN checked', () => {
    const b = render({ ...mtls, xds: { host: '10.0.0.7', port: 18000 } });
    const tls = b.static_resources.clusters.find((c) => c.name === xdsClusterName)!.transport_socket!.typed_config;
    expect(tls.sni).toBeUndefined();
    expect(
      tls.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names,
    ).toEqual([{ san_type: 'IP_ADDRESS', matcher: { exact: '10.0.0.7' } }]);
  });

  it('keeps the admin on loopback and answers /ready on every address', () => {
    const b = render(input);
    expect(b.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 9901 });
    const ready = b.static_resources.listeners.find((l) => l.name === readyListenerName)!;
    expect(ready.address.socket_address).toEqual({ address: '0.0.0.0', port_value: 9902 });
    expect(
      b.static_resources.clusters.find((c) => c.name === adminClusterName)!.load_assignment.endpoints[0]!
        .lb_endpoints[0]!.endpoint.address.socket_address,
    ).toEqual({ address: '127.0.0.1', port_value: 9901 });
  });

  it('keeps the node metadata through encoding (Struct values are not dropped)', () => {
    const decoded = decodeBootstrap(encodeStrict(root, bootstrapType, renderBootstrap(input))) as {
      node: { metadata: { fields: Record<string, unknown> } };
    };
    expect(decoded.node.metadata.fields).toEqual({
      namespace: { stringValue: 'edge' },
      dataPlane: { stringValue: 'eu' },
      component: { stringValue: 'envoy' },
    });
  });

  it('is deterministic', () => {
    expect(JSON.stringify(renderBootstrap(input))).toBe(JSON.stringify(renderBootstrap(structuredClone(input))));
    expect(JSON.stringify(renderBootstrap(mtls))).toBe(JSON.stringify(renderBootstrap(structuredClone(mtls))));
    expect(JSON.stringify(bootstrapSdsFiles(mtls))).toBe(JSON.stringify(bootstrapSdsFiles(structuredClone(mtls))));
  });
});

function decodeBootstrap(bytes: Uint8Array): unknown {
  const type = root.lookupType(bootstrapType);
  return type.toObject(type.decode(bytes), { longs: String, enums: String });
}
