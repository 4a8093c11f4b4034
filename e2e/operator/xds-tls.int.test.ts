// `--xds-tls issued`: in a cluster the operator serves ADS with the certificate it issues itself
// (gatehouse-xds-tls), and requires client certificates. A DataPlane's extproc, holding the leaf
// and CA bundle the operator issued for it (as its pod mounts them), subscribes over mutual TLS; a
// client without a certificate gets nothing. Each DataPlane's nodes get that DataPlane's
// configuration only, and a node whose certificate names another DataPlane is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XdsSnapshotSource } from '../../extproc/src/config/xds-source.ts';
import { SnapshotStore } from '../../extproc/src/config/snapshot-store.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { validateMaterial } from '../../lib/tls/material.ts';
import type { MaterialSource } from '../../lib/tls/watcher.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { captureLog } from '../tls/logs.ts';
import { Cluster, eventually, operatorKubeConfig, type Obj } from './kube.ts';

const decode = (secret: Obj | undefined, key: string) =>
  Buffer.from((secret as unknown as { data: Record<string, string> }).data[key]!, 'base64');

describe('operator xDS over mutual TLS with issued certificates', () => {
  const cluster = new Cluster();
  let ns = '';
  let operator: KubeOperator;
  const sources: XdsSnapshotSource[] = [];

  beforeAll(async () => {
    ns = await cluster.operatorNamespace('xdstls');
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: silentLog,
      namespace: ns,
      watchNamespace: ns,
      identity: 'tls-0',
      host: '127.0.0.1',
      xdsPort: 0,
      leaderElection: { enabled: false },
      xdsTls: 'issued',
      dataPlane: {
        xds: { host: 'gatehouse-xds', port: 18000 },
        envoyImage: 'envoyproxy/envoy:test',
        gatehouseImage: 'gatehouse:test',
      },
    });
  });

  afterAll(async () => {
    for (const s of sources) await s.stop();
    await operator?.stop();
  });

  const subscribe = (source: MaterialSource, dataPlane = 'edge', log = silentLog) => {
    const store = new SnapshotStore();
    const xds = new XdsSnapshotSource({
      address: `127.0.0.1:${operator.xdsPort}`,
      log,
      nodeId: `extproc-${sources.length}`,
      cluster: `${ns}/${dataPlane}/extproc`,
      credentials: grpcChannelCredentials({ source, serverName: `gatehouse-xds.${ns}.svc` }),
      initialTimeoutMs: 200,
      backoffBaseMs: 50,
      backoffMaxMs: 200,
    });
    sources.push(xds);
    return { xds, store, started: xds.start(store) };
  };

  it("serves a DataPlane's extproc holding its issued certificate, and refuses a client without one", async () => {
    await cluster.apply({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'DataPlane',
      metadata: { name: 'edge', namespace: ns },
      spec: {},
    });
    const [leaf, bundle] = await eventually('the extproc certificate and the CA bundle issued', async () => {
      const l = await cluster.get('Secret', ns, 'edge-extproc-tls');
      const b = await cluster.get('Secret', ns, 'edge-ca-bundle');
      return l && b && ([l, b] as const);
    });
    await eventually('the xDS certificate issued', () => cluster.get('Secret', ns, 'gatehouse-xds-tls'));

    const material = validateMaterial({
      cert: decode(leaf, 'tls.crt'),
      key: decode(leaf, 'tls.key'),
      ca: decode(bundle, 'ca.crt'),
    });
    const holder = subscribe({ current: () => material, onChange: () => () => undefined });
    await eventually('the runtime snapshot over mutual TLS', () => holder.store.current() !== undefined);
    expect(holder.xds.state()).toMatchObject({ origin: 'control-plane', connected: true });

    const anonymous = subscribe({
      current: () => validateMaterial({ ca: decode(bundle, 'ca.crt') }),
      onChange: () => () => undefined,
    });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(anonymous.store.current()).toBeUndefined();
    expect(anonymous.xds.state().connected).toBe(false);
  });

  /** The extproc leaf the operator issued for `dataPlane`, with its CA bundle, as its pod mounts them. */
  const issuedMaterial = async (dataPlane: string): Promise<MaterialSource> => {
    const [leaf, bundle] = await eventually(`the ${dataPlane} extproc certificate and CA bundle issued`, async () => {
      const l = await cluster.get('Secret', ns, `${dataPlane}-extproc-tls`);
      const b = await cluster.get('Secret', ns, `${dataPlane}-ca-bundle`);
      return l && b && ([l, b] as const);
    });
    const material = validateMaterial({
      cert: decode(leaf, 'tls.crt'),
      key: decode(leaf, 'tls.key'),
      ca: decode(bundle, 'ca.crt'),
    });
    return { current: () => material, onChange: () => () => undefined };
  };

  it("gives each DataPlane's extproc only its own proxies and region, and refuses one claiming another DataPlane", async () => {
    const listener = (host: string) => [{ name: 'http', port: 8080, hostnames: [host] }];
    const proxy = (name: string, host: string) => ({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiProxy',
      metadata: { name, namespace: ns },
      spec: { basePath: `/${name}`, hosts: [host], target: { url: 'http://127.0.0.1:9090' } },
    });
    await cluster.apply({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'DataPlane',
      metadata: { name: 'edge', namespace: ns },
      spec: { region: 'eu-west-1', listeners: listener('edge.bank.example') },
    });
    await cluster.apply({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'DataPlane',
      metadata: { name: 'core', namespace: ns },
      spec: { region: 'us-east-1', listeners: listener('core.bank.example') },
    });
    await cluster.apply(proxy('orders', 'edge.bank.example'));
    await cluster.apply(proxy('ledger', 'core.bank.example'));
    const [edge, core] = await Promise.all([issuedMaterial('edge'), issuedMaterial('core')]);

    const served = (store: SnapshotStore) => {
      const s = store.current();
      return s && { proxies: [...s.routes.keys()].sort(), region: s.environmentName };
    };
    const edgeNode = subscribe(edge, 'edge');
    const coreNode = subscribe(core, 'core');
    await eventually(
      'edge serves orders in eu-west-1',
      () => served(edgeNode.store)?.proxies.join() === `${ns}/orders`,
    );
    expect(served(edgeNode.store)).toEqual({ proxies: [`${ns}/orders`], region: 'eu-west-1' });
    await eventually(
      'core serves ledger in us-east-1',
      () => served(coreNode.store)?.proxies.join() === `${ns}/ledger`,
    );
    expect(served(coreNode.store)).toEqual({ proxies: [`${ns}/ledger`], region: 'us-east-1' });

    // edge's certificate, claiming to be core's extproc: refused, naming why, and never served.
    const log = captureLog();
    const impostor = subscribe(edge, 'core', log.log);
    await eventually('the impostor is refused', () =>
      log.lines.some((l) => JSON.stringify(l.error ?? '').includes('is not the identity of its client certificate')),
    );
    expect(impostor.store.current()).toBeUndefined();
    // Only the genuine core node is registered.
    expect(operator.controlPlane.registry.list().filter((n) => n.cluster === `${ns}/core/extproc`)).toHaveLength(1);
  });
});
