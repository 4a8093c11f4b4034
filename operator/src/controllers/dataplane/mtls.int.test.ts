// The kube operator with `--xds-tls issued` against a real kube-apiserver (restricted operator
// identity): it renders a DataPlane's pods with mutual TLS (Secrets mounted, extproc's TLS flags, the
// SDS files next to Envoy's bootstrap) and compiles the `gatehouse-extproc` cluster with TLS. Then the
// certificates it issued, used exactly as the rendered configuration says (Envoy's leaf, the bundle,
// the SNI and SAN checked), complete real handshakes: Envoy -> the operator's xDS port, and
// Envoy -> an extproc server holding extproc's leaf.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, eventually, operatorKubeConfig, type Obj } from '../../../../e2e/operator/kube.ts';
import { startKubeOperator, type KubeOperator } from '../../kube-operator.ts';
import { silentLog } from '../../xds/control-plane.test-support.ts';

// The parts of the rendered objects and of Envoy's configuration this test reads.
type DeploymentView = Obj & {
  spec: { template: { spec: { volumes: { secret?: { secretName: string } }[]; containers: { args: string[] }[] } } };
};
type ConfigMapView = Obj & { data: Record<string, string> };
type UpstreamTlsView = {
  sni: string;
  common_tls_context: {
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: { matcher: { exact: string } }[] };
    };
  };
};
type ClusterView = {
  name: string;
  transport_socket?: { typed_config: UpstreamTlsView };
  load_assignment: {
    endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string } } } }[] }[];
  };
};
const pem = (secret: Obj | undefined, key: string) =>
  Buffer.from((secret as unknown as { data: Record<string, string> }).data[key]!, 'base64').toString();

/** A client handshake as Envoy makes it; resolves with the server certificate's subject once verified. */
function handshake(
  port: number,
  options: { cert: string; key: string; ca: string; servername: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, ...options, ALPNProtocols: ['h2'], minVersion: 'TLSv1.2' },
      () => {
        const subject = String(socket.getPeerCertificate().subject?.CN ?? '');
        socket.end();
        resolve(subject);
      },
    );
    socket.once('error', reject);
  });
}

describe('DataPlane workloads with issued certificates (mutual TLS)', () => {
  const cluster = new Cluster();
  let ns = '';
  let operator: KubeOperator;

  beforeAll(async () => {
    ns = await cluster.operatorNamespace('dpmtls');
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: silentLog,
      namespace: ns,
      watchNamespace: ns,
      identity: 'mtls-0',
      host: '127.0.0.1',
      xdsPort: 0,
      leaderElection: { enabled: false },
      xdsTls: 'issued',
      debounceMs: 20,
      dataPlane: {
        xds: { host: 'gatehouse-xds', port: 18000 },
        envoyImage: 'envoyproxy/envoy:test',
        gatehouseImage: 'gatehouse:test',
      },
    });
    await cluster.apply({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'DataPlane',
      metadata: { name: 'edge', namespace: ns },
      spec: {},
    });
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it("renders the pods with their certificates mounted and extproc's TLS flags, and the SDS files in the bootstrap ConfigMap", async () => {
    const envoy = (await eventually('the Envoy Deployment', () =>
      cluster.get('Deployment', ns, 'edge-envoy'),
    )) as DeploymentView;
    const extproc = (await eventually('the extproc Deployment', () =>
      cluster.get('Deployment', ns, 'edge-extproc'),
    )) as DeploymentView;
    const secretsOf = (d: DeploymentView) =>
      d.spec.template.spec.volumes
        .filter((v) => v.secret)
        .map((v) => v.secret!.secretName)
        .sort();
    expect(secretsOf(envoy)).toEqual(['edge-ca-bundle', 'edge-envoy-tls']);
    expect(secretsOf(extproc)).toEqual(['edge-ca-bundle', 'edge-extproc-tls']);
    expect(extproc.spec.template.spec.containers[0]!.args.join(' ')).toContain(
      '--tls-cert /etc/gatehouse/tls/tls.crt --tls-key /etc/gatehouse/tls/tls.key --tls-client-ca /etc/gatehouse/ca/ca.crt ' +
        '--xds-tls-ca /etc/gatehouse/ca/ca.crt --xds-tls-cert /etc/gatehouse/tls/tls.crt --xds-tls-key /etc/gatehouse/tls/tls.key',
    );
    const configMap = (await cluster.get('ConfigMap', ns, 'edge-envoy-bootstrap')) as ConfigMapView;
    expect(Object.keys(configMap.data).sort()).toEqual([
      'bootstrap.json',
      'sds-extproc-ca.json',
      'sds-extproc-client.json',
      'sds-xds-ca.json',
      'sds-xds-client.json',
    ]);
  });

  it('the issued certificates, used as the rendered configuration says, handshake with the xDS server and with extproc', async () => {
    const configMap = (await eventually('the bootstrap ConfigMap', () =>
      cluster.get('ConfigMap', ns, 'edge-envoy-bootstrap'),
    )) as ConfigMapView;
    const bootstrap = JSON.parse(configMap.data['bootstrap.json']!) as {
      static_resources: { clusters: ClusterView[] };
    };
    const xdsTls = bootstrap.static_resources.clusters.find((c) => c.name === 'gatehouse-xds')!.transport_socket!
      .typed_config;
    const extProcCluster = await eventually('the gatehouse-extproc cluster compiled with TLS', () => {
      const c = operator.snapshots
        .current()
        ?.snapshot.envoy.clusters.find((x) => x.name === `gatehouse-extproc/${ns}/edge`) as ClusterView | undefined;
      return c?.transport_socket ? c : undefined;
    });
    const extProcTls = extProcCluster.transport_socket!.typed_config;
    expect(extProcTls.sni).toBe(`edge-extproc.${ns}.svc`);
    expect(extProcCluster.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.address).toBe(
      extProcTls.sni,
    );

    const [envoyLeaf, extprocLeaf, bundle] = await eventually("the DataPlane's certificates issued", async () => {
      const all = await Promise.all(
        ['edge-envoy-tls', 'edge-extproc-tls', 'edge-ca-bundle'].map((n) => cluster.get('Secret', ns, n)),
      );
      return all.every(Boolean) ? all : undefined;
    });
    await eventually('the xDS certificate issued and served', () => cluster.get('Secret', ns, 'gatehouse-xds-tls'));
    const envoyClient = { cert: pem(envoyLeaf, 'tls.crt'), key: pem(envoyLeaf, 'tls.key'), ca: pem(bundle, 'ca.crt') };

    // Envoy -> xDS: SNI and the SAN checked are the bootstrap's; the operator serves its issued certificate.
    const sanXds =
      xdsTls.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names[0]!
        .matcher.exact;
    expect(sanXds).toBe(xdsTls.sni);
    const xdsSubject = await eventually('a handshake with the xDS server', () =>
      handshake(operator.xdsPort, { ...envoyClient, servername: xdsTls.sni }).catch(() => undefined),
    );
    expect(xdsSubject).toBe(`gatehouse-xds.${ns}.svc`);

    // Envoy -> extproc: a server as `gatehouse extproc --tls-cert --tls-key --tls-client-ca` is, requiring a client certificate.
    expect(new X509Certificate(pem(extprocLeaf, 'tls.crt')).checkHost(extProcTls.sni)).toBe(extProcTls.sni);
    const server = tls.createServer(
      {
        cert: pem(extprocLeaf, 'tls.crt'),
        key: pem(extprocLeaf, 'tls.key'),
        ca: pem(bundle, 'ca.crt'),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      },
      (socket) => socket.end(),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as AddressInfo).port;
      expect(await handshake(port, { ...envoyClient, servername: extProcTls.sni })).toBe(extProcTls.sni);
      // Without Envoy's certificate extproc refuses the connection.
      await expect(
        new Promise((resolve, reject) => {
          const socket = tls.connect({ host: '127.0.0.1', port, ca: envoyClient.ca, servername: extProcTls.sni }, () =>
            socket.once('data', resolve).once('end', () => reject(new Error('closed'))),
          );
          socket.once('error', reject);
        }),
      ).rejects.toThrow(/certificate required/);
    } finally {
      server.close();
    }
  });
});
