// The scenario the RBAC audit tests run (e2e/operator/rbac.int.test.ts for the all-namespaces
// ClusterRole, e2e/chart/namespaced-rbac.int.test.ts for the namespaced Roles): every kind applied and
// served, every DataPlane child created, edited back and pruned, Events, remediation, the webhook's
// caBundle, so that every call the operator has a grant for is made at least once. The tests then read
// the apiserver's audit log: no call denied, no grant unused.
import type { KubeOperator } from '../../operator/src/kube-operator.ts';
import { conditionOf, eventually, hasConditions, webhookCaBundleSet, type Cluster, type Obj } from './kube.ts';

const api = 'gatehouse.dev/v1alpha1';
export const obj = (kind: string, namespace: string, name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: api,
  kind,
  metadata: { name, namespace },
  spec,
});

/** No kubelet runs: the test writes Node and Pod status as one would. */
async function remediationScenario(cluster: Cluster, ns: string): Promise<void> {
  const iso = (msAgo = 0) => new Date(Date.now() - msAgo).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const nodes = { ready: `${ns}-ready`, shutDown: `${ns}-shutdown` };
  for (const [name, ready] of [
    [nodes.ready, true],
    [nodes.shutDown, false],
  ] as const) {
    await cluster.rest.create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      spec: ready
        ? {}
        : { taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] },
    });
    await cluster.rest.mergePatch(`/api/v1/nodes/${name}/status`, {
      status: {
        conditions: [
          {
            type: 'Ready',
            status: ready ? 'True' : 'Unknown',
            reason: ready ? 'KubeletReady' : 'NodeStatusUnknown',
            message: 'written by the test',
            lastHeartbeatTime: iso(),
            lastTransitionTime: iso(600_000),
          },
        ],
      },
    });
  }
  await cluster.apply(
    obj('DataPlane', ns, 'healer', {
      remediation: { enabled: true, notReadyFor: '1s', maxEvictionsPerHour: 5, minAvailable: 0 },
    }),
  );
  const pod = async (name: string, component: 'envoy' | 'extproc', node: string, ready: boolean) => {
    const labels = {
      'app.kubernetes.io/name': component,
      'app.kubernetes.io/instance': 'healer',
      'app.kubernetes.io/component': component,
      'app.kubernetes.io/managed-by': 'gatehouse',
      'app.kubernetes.io/part-of': 'gatehouse',
      'gatehouse.dev/dataplane': 'healer',
    };
    await cluster.rest.create(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels },
      spec: { nodeName: node, containers: [{ name: component, image: 'test' }] },
    });
    await cluster.rest.mergePatch(`/api/v1/namespaces/${ns}/pods/${name}/status`, {
      status: {
        phase: 'Running',
        startTime: iso(3_600_000),
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: iso(3_600_000) }],
        containerStatuses: [
          {
            name: component,
            image: 'test',
            imageID: '',
            ready,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: iso(3_600_000) } },
          },
        ],
      },
    });
  };
  await pod('healer-extproc-zombie', 'extproc', nodes.ready, false);
  await pod('healer-envoy-lost', 'envoy', nodes.shutDown, true);
  await cluster.rest.delete(`/api/v1/namespaces/${ns}/pods/healer-envoy-lost`); // graceful: waits for a kubelet that never comes
  await eventually('zombie evicted and lost pod force-deleted', async () => {
    const left = (await cluster.rest.list<Obj>(`/api/v1/namespaces/${ns}/pods`)).items;
    const zombie = left.find((p) => p.metadata.name === 'healer-extproc-zombie') as
      { metadata: { deletionTimestamp?: string } } | undefined;
    return (!zombie || zombie.metadata.deletionTimestamp) && !left.some((p) => p.metadata.name === 'healer-envoy-lost');
  });
  for (const name of Object.values(nodes)) await cluster.rest.delete(`/api/v1/nodes/${name}`);
}

export interface GrantScenario {
  /** The watched namespace the objects go in. */
  ns: string;
  /** Where the operator keeps its node reports (its own namespace). */
  reportsNamespace: string;
  /** The DeveloperApp's consumer key, and the EndpointSlice's address: unique per test file. */
  consumerKey: string;
  endpoint: string;
}

export async function exerciseEveryGrant(cluster: Cluster, operator: KubeOperator, o: GrantScenario): Promise<void> {
  const { ns } = o;
  await cluster.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'key', namespace: ns, labels: { 'gatehouse.dev/credential': 'true' } },
    stringData: { consumerKey: o.consumerKey },
  });
  await cluster.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'backend', namespace: ns },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  await cluster.apply({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'backend-1', namespace: ns, labels: { 'kubernetes.io/service-name': 'backend' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: [o.endpoint], conditions: { ready: true } }],
  });
  await cluster.apply(
    obj('ApiPolicy', ns, 'tag', { type: 'AssignMessage', assignMessage: { set: { headers: { 'x-tag': 'one' } } } }),
  );
  await cluster.apply(
    obj('ApiProxy', ns, 'orders', {
      basePath: '/orders',
      target: { service: { name: 'backend', port: 80 } },
      flows: { preFlow: { request: [{ policy: 'tag' }] } },
    }),
  );
  await cluster.apply(obj('ApiProduct', ns, 'gold', { displayName: 'Gold', proxies: ['orders'], resources: ['/**'] }));
  await cluster.apply(obj('Developer', ns, 'dev', { email: 'dev@acme.test' }));
  await cluster.apply(
    obj('KeyValueMap', ns, 'settings', { scope: 'organization', entries: [{ key: 'timeout', values: ['5000'] }] }),
  );
  await cluster.apply(obj('SharedFlow', ns, 'common', { steps: [{ policy: 'tag' }] }));
  await cluster.apply(
    obj('DeveloperApp', ns, 'acme', {
      developerRef: { name: 'dev' },
      products: [{ name: 'gold', status: 'Approved' }],
      credentials: [{ secretRef: { name: 'key' }, status: 'Approved' }],
    }),
  );
  const dataPlane = (spec: Record<string, unknown>) =>
    obj('DataPlane', ns, 'edge', { listeners: [{ name: 'http', port: 8080 }], ...spec });
  await cluster.apply(dataPlane({ autoscaling: { enabled: true } }));

  for (const [kind, name] of [
    ['ApiPolicy', 'tag'],
    ['ApiProxy', 'orders'],
    ['ApiProduct', 'gold'],
    ['Developer', 'dev'],
    ['DeveloperApp', 'acme'],
    ['KeyValueMap', 'settings'],
    ['SharedFlow', 'common'],
  ] as const) {
    // Programmed, not Ready: no data-plane node connects here, so an ApiProxy is not Ready.
    await eventually(`${kind} ${name} Programmed`, async () =>
      hasConditions(await cluster.get(kind, ns, name), { Accepted: 'True', Programmed: 'True' }),
    );
  }
  // A debug session: the operator writes its status (debugsessions/status).
  await cluster.apply(obj('DebugSession', ns, 'trace', { proxyRef: { name: 'orders' } }));
  await eventually('DebugSession status written', async () =>
    conditionOf(await cluster.get('DebugSession', ns, 'trace'), 'Accepted'),
  );
  await eventually('the endpoints of the Service target are served', () =>
    JSON.stringify(operator.snapshots.current()?.snapshot.envoy.endpoints ?? []).includes(o.endpoint),
  );
  await eventually('DataPlane status written', async () =>
    conditionOf(await cluster.get('DataPlane', ns, 'edge'), 'Ready'),
  );
  const deploymentPath = `/apis/apps/v1/namespaces/${ns}/deployments/edge-envoy`;
  await eventually('Envoy Deployment created', () => cluster.rest.get(deploymentPath));

  // A hand edit is put back (apply over a live object: patch).
  const image = async () =>
    (
      await cluster.rest.get<{ spec: { template: { spec: { containers: { name: string; image: string }[] } } } }>(
        deploymentPath,
      )
    ).spec.template.spec.containers.find((c) => c.name === 'envoy')?.image;
  await cluster.rest.apply(
    deploymentPath,
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'edge-envoy', namespace: ns },
      spec: { template: { spec: { containers: [{ name: 'envoy', image: 'evil:latest' }] } } },
    },
    { fieldManager: 'kubectl-edit', force: true },
  );
  await eventually('hand edit reverted', async () => (await image()) === 'envoyproxy/envoy:test');

  // Autoscaling off deletes the HPAs; scaled to zero, the PDBs go too.
  await cluster.apply(dataPlane({ envoy: { replicas: 0 }, extproc: { replicas: 0 } }));
  await eventually('HPA and PDB pruned', async () => {
    const [hpas, pdbs] = await Promise.all([
      cluster.rest.list(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`),
      cluster.rest.list(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`),
    ]);
    return hpas.items.length === 0 && pdbs.items.length === 0;
  });

  // A condition that turns False twice: an Event, then the same Event again (its series).
  const broken = {
    basePath: '/orders',
    target: { service: { name: 'backend', port: 80 } },
    flows: { conditionalFlows: [{ name: 'x', condition: 'request.verb = ', request: [] }] },
  };
  const fixed = { basePath: '/orders', target: { service: { name: 'backend', port: 80 } } };
  for (let i = 0; i < 2; i++) {
    await cluster.apply(obj('ApiProxy', ns, 'orders', broken));
    await eventually('orders not accepted', async () =>
      hasConditions(await cluster.get('ApiProxy', ns, 'orders'), { Accepted: 'False' }),
    );
    await cluster.apply(obj('ApiProxy', ns, 'orders', fixed));
    await eventually('orders accepted again', async () =>
      hasConditions(await cluster.get('ApiProxy', ns, 'orders'), { Accepted: 'True' }),
    );
  }
  // Remediation: a zombie evicted (pods/eviction), a pod stuck terminating on an out-of-service node force-deleted (pods delete).
  await remediationScenario(cluster, ns);

  await eventually(
    'the stale node report deleted',
    async () =>
      !(await cluster.rest.list(`/api/v1/namespaces/${o.reportsNamespace}/configmaps`)).items.some(
        (c) => (c as Obj).metadata.name === 'gatehouse-nodes-gone',
      ),
  );

  // The admission webhook's caBundle written by the leader (get, then patch).
  await eventually('webhook caBundle written', () => webhookCaBundleSet(cluster));
}
