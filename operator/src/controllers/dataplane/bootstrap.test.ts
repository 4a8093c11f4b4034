// The bootstrap is proved against Envoy's real protos: unknown fields, wrong types, unresolvable Any
// types fail (DESIGN 7.1).
import { describe, expect, it } from 'vitest';
import { loadEnvoyRoot } from '../../../../protos/envoy.ts';
import { EnvoyProtoError, encodeStrict } from '../../compile/envoy-proto.ts';
import { adminClusterName, bootstrapProtoFiles, bootstrapType, readyListenerName, renderBootstrap, xdsClusterName } from './bootstrap.ts';

const root = loadEnvoyRoot(bootstrapProtoFiles);

const input = { namespace: 'edge', dataPlane: 'eu', region: 'eu-west-1', xds: { host: 'gatehouse-xds.gatehouse-system.svc', port: 18000 } };

describe('renderBootstrap', () => {
  it('encodes strictly as envoy.config.bootstrap.v3.Bootstrap', () => {
    const bytes = encodeStrict(root, bootstrapType, renderBootstrap(input));
    expect(bytes.length).toBeGreaterThan(0);
  });

  it('encodes without a region too', () => {
    expect(encodeStrict(root, bootstrapType, renderBootstrap({ ...input, region: undefined })).length).toBeGreaterThan(0);
  });

  it('the verifier would catch a misspelt field (so the test above means something)', () => {
    const bad = renderBootstrap(input) as { dynamic_resources: Record<string, unknown> };
    bad.dynamic_resources.ads_config = { ...(bad.dynamic_resources.ads_config as object), set_node_on_first_message: true };
    expect(() => encodeStrict(root, bootstrapType, bad)).toThrow(EnvoyProtoError);
  });

  it('gets everything over ADS from the xDS cluster, with mutual TLS checked against the Service name', () => {
    const b = renderBootstrap(input) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(b.dynamic_resources.ads_config).toMatchObject({ api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: xdsClusterName } }] });
    expect(b.dynamic_resources.cds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    expect(b.dynamic_resources.lds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    const xds = b.static_resources.clusters.find((c: { name: string }) => c.name === xdsClusterName);
    expect(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: input.xds.host, port_value: 18000 });
    const tls = xds.transport_socket.typed_config;
    expect(tls.sni).toBe(input.xds.host);
    expect(tls.common_tls_context.tls_certificates[0].certificate_chain.filename).toBe('/etc/gatehouse/tls/tls.crt');
    expect(tls.common_tls_context.validation_context.trusted_ca.filename).toBe('/etc/gatehouse/ca/ca.crt');
    expect(tls.common_tls_context.validation_context.match_typed_subject_alt_names).toEqual([{ san_type: 'DNS', matcher: { exact: input.xds.host } }]);
  });

  it('keeps the admin on loopback and answers /ready on every address', () => {
    const b = renderBootstrap(input) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(b.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 9901 });
    const ready = b.static_resources.listeners.find((l: { name: string }) => l.name === readyListenerName);
    expect(ready.address.socket_address).toEqual({ address: '0.0.0.0', port_value: 9902 });
    expect(b.static_resources.clusters.find((c: { name: string }) => c.name === adminClusterName).load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address)
      .toEqual({ address: '127.0.0.1', port_value: 9901 });
  });

  it('keeps the node metadata through encoding (Struct values are not dropped)', () => {
    const decoded = decodeBootstrap(encodeStrict(root, bootstrapType, renderBootstrap(input))) as { node: { metadata: { fields: Record<string, unknown> } } };
    expect(decoded.node.metadata.fields).toEqual({
      namespace: { stringValue: 'edge' }, dataPlane: { stringValue: 'eu' }, component: { stringValue: 'envoy' },
    });
  });

  it('is deterministic', () => {
    expect(JSON.stringify(renderBootstrap(input))).toBe(JSON.stringify(renderBootstrap(structuredClone(input))));
  });
});

function decodeBootstrap(bytes: Uint8Array): unknown {
  const type = root.lookupType(bootstrapType);
  return type.toObject(type.decode(bytes), { longs: String, enums: String });
}
