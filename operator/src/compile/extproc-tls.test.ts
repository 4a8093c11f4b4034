// The extProcTls compile option: mutual TLS from Envoy to extproc through filesystem SDS (Envoy
// re-reads certificate files only for SDS-delivered secrets), with the SDS files themselves strict
// DiscoveryResponses; an address is verified by its IP SAN and never sent as SNI.
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../../protos/gen/json/envoy.config.cluster.v3.ts';
import { compile } from './compile.ts';
import { encodeStrict, envoyRoot } from '../xds/envoy-codec.ts';
import { typeUrls, unpack } from './envoy/names.ts';
import { extProcTlsSdsFiles } from './envoy/tls.ts';
import type { IrExtProcTls } from './ir.ts';

const tls: IrExtProcTls = {
  certFile: '/etc/gatehouse/tls/tls.crt',
  keyFile: '/etc/gatehouse/tls/tls.key',
  caFile: '/etc/gatehouse/ca/ca.crt',
  sni: 'edge-extproc.gatehouse-system.svc',
  sdsDir: '/etc/envoy',
};

const extProcCluster = (clusters: Cluster[]) => clusters.find((c) => c.name === 'gatehouse-extproc/default/default')!;
const upstreamTlsOf = (c: Cluster) => unpack(c.transport_socket?.typed_config, typeUrls.upstreamTls)!;

describe('extProcTls', () => {
  it('puts an UpstreamTlsContext with filesystem SDS on the gatehouse-extproc cluster, and nothing without the option', () => {
    const plain = compile([], { credentialHashKey: 'k' }).snapshot;
    expect(extProcCluster(plain.envoy.clusters).transport_socket).toBeUndefined();
    const snapshot = compile([], {
      credentialHashKey: 'k',
      extProc: { host: 'edge-extproc.gatehouse-system.svc', port: 9002 },
      extProcTls: tls,
    }).snapshot;
    const context = upstreamTlsOf(extProcCluster(snapshot.envoy.clusters));
    expect(context).toMatchObject({
      sni: tls.sni,
      common_tls_context: {
        alpn_protocols: ['h2'],
        tls_certificate_sds_secret_configs: [
          {
            name: 'gatehouse-extproc-client',
            sds_config: {
              path_config_source: {
                path: '/etc/envoy/sds-extproc-client.json',
                watched_directory: { path: '/etc/envoy' },
              },
            },
          },
        ],
        combined_validation_context: {
          default_validation_context: {
            match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: tls.sni } }],
          },
        },
      },
    });
    // Files Envoy reads itself are not asked of the ADS server.
    expect(snapshot.secretRefs).toEqual([]);
    expect(snapshot.version).not.toBe(plain.version);
  });

  it("writes the SDS files as strict DiscoveryResponses pointing at the mounted files, watched for kubelet's swap", () => {
    const files = extProcTlsSdsFiles(tls);
    expect(Object.keys(files).sort()).toEqual(['sds-extproc-ca.json', 'sds-extproc-client.json']);
    for (const text of Object.values(files)) {
      expect(
        encodeStrict(envoyRoot(), 'envoy.service.discovery.v3.DiscoveryResponse', JSON.parse(text) as unknown).length,
      ).toBeGreaterThan(0);
    }
    expect(JSON.parse(files['sds-extproc-client.json']!)).toEqual({
      resources: [
        {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
          name: 'gatehouse-extproc-client',
          tls_certificate: {
            certificate_chain: { filename: tls.certFile },
            private_key: { filename: tls.keyFile },
            watched_directory: { path: '/etc/gatehouse/tls' },
          },
        },
      ],
    });
    expect(
      (JSON.parse(files['sds-extproc-ca.json']!) as { resources: { validation_context: unknown }[] }).resources[0]
        ?.validation_context,
    ).toEqual({ trusted_ca: { filename: tls.caFile }, watched_directory: { path: '/etc/gatehouse/ca' } });
  });

  it('verifies an extproc reached by address by its IP SAN, without SNI', () => {
    const snapshot = compile([], {
      credentialHashKey: 'k',
      extProc: { host: '10.0.0.9', port: 9002 },
      extProcTls: { ...tls, sni: '10.0.0.9' },
    }).snapshot;
    const context = upstreamTlsOf(extProcCluster(snapshot.envoy.clusters));
    expect(context.sni).toBeUndefined();
    expect(context).toMatchObject({
      common_tls_context: {
        combined_validation_context: {
          default_validation_context: {
            match_typed_subject_alt_names: [{ san_type: 'IP_ADDRESS', matcher: { exact: '10.0.0.9' } }],
          },
        },
      },
    });
  });
});
