// The extproc arguments the renderer writes into a DataPlane's Deployment are real `gatehouse extproc`
// flags, and the node identity they give reaches the xDS server so that the status code maps the node
// to its DataPlane: parse the rendered arguments with the CLI's own parser, subscribe with them to a
// real xDS server, read the node registry.
import { afterEach, describe, expect, it } from 'vitest';
import { parseOptions } from '../../../../lib/cli/command.ts';
import { extprocCommand } from '../../../../extproc/src/command.ts';
import { SnapshotStore } from '../../../../extproc/src/config/snapshot-store.ts';
import { XdsSnapshotSource } from '../../../../extproc/src/config/xds-source.ts';
import { xdsNode } from '../../../../extproc/src/main.ts';
import { compile } from '../../compile/compile.ts';
import { silentLog, startControlPlane, until } from '../../xds/control-plane.test-support.ts';
import { renderDataPlane, type KubeObject } from './render.ts';
import { dataPlaneStatus } from './status.ts';
import { parseNodeCluster } from '../../api/names.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type DeploymentJson = KubeObject & { spec: { template: { spec: { containers: { args: string[] }[] } } } };

const dp = {
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'DataPlane',
  metadata: { name: 'eu', namespace: 'edge', uid: 'u' },
  spec: { region: 'eu-west-1', redis: { url: 'redis://r:6379' } },
} as const;

function renderedExtprocArgs(): string[] {
  const objects = renderDataPlane(
    { ...dp, spec: { ...dp.spec, redis: { ...dp.spec.redis } } },
    {
      envoyImage: 'envoy',
      gatehouseImage: 'gatehouse',
      xds: { host: 'gatehouse-xds', port: 18000 },
      operatorNamespace: 'gh',
    },
  );
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'eu-extproc') as DeploymentJson;
  return deployment.spec.template.spec.containers[0]!.args;
}

describe('extproc --node-id / --node-cluster', () => {
  it('defaults: no node id (the source picks $GATEHOUSE_NODE_ID or extproc/HOSTNAME), cluster gatehouse-extproc', () => {
    const parse = (...argv: string[]) => parseOptions(extprocCommand, argv);
    expect(xdsNode(parse('--xds', 'h:1'))).toEqual({ cluster: 'gatehouse-extproc' });
    expect(xdsNode(parse('--xds', 'h:1', '--node-id', 'pod-1', '--node-cluster', 'ns/dp/extproc'))).toEqual({
      nodeId: 'pod-1',
      cluster: 'ns/dp/extproc',
    });
    expect(() => parse('--xds', 'h:1', '--node-id', ' ')).toThrow(/--node-id: needs a value/);
  });

  it('the rendered Deployment arguments parse, and the node they name is mapped to its DataPlane', async () => {
    const { controlPlane, address } = await startControlPlane();
    cleanups.push(() => controlPlane.stop());
    // The DataPlane the rendered node names: its nodes get its view (and nothing without it).
    const snapshot = compile([{ object: dp }], { credentialHashKey: 'k' }).snapshot;
    expect(snapshot.dataPlanes.map((v) => v.dataPlane)).toEqual(['edge/eu']);
    controlPlane.publish(snapshot);

    // What the kubelet runs: $(POD_NAME) expanded; the xDS address pointed at the test server.
    const [command, ...args] = renderedExtprocArgs().map((a) => a.replace('$(POD_NAME)', 'eu-extproc-6b7c9-x2x4z'));
    expect(command).toBe('extproc');
    const options = parseOptions(extprocCommand, args);
    expect(options).toMatchObject({
      nodeCluster: 'edge/eu/extproc',
      region: 'eu-west-1',
      cacheDir: '/var/cache/gatehouse',
    });
    const source = new XdsSnapshotSource({ address, log: silentLog, initialTimeoutMs: 2000, ...xdsNode(options) });
    cleanups.push(() => source.stop());
    await source.start(new SnapshotStore());

    await until(() => controlPlane.registry.get('eu-extproc-6b7c9-x2x4z')?.syncedVersion === snapshot.version);
    const node = controlPlane.registry.get('eu-extproc-6b7c9-x2x4z')!;
    expect(parseNodeCluster(node.cluster)).toEqual({ namespace: 'edge', dataPlane: 'eu', component: 'extproc' });
    const status = dataPlaneStatus({
      namespace: 'edge',
      name: 'eu',
      deployments: {},
      nodes: controlPlane.registry.list(),
      configVersion: snapshot.version,
    });
    expect(status.components.find((c) => c.name === 'extproc')?.syncedVersion).toBe(snapshot.version);
  });
});
