// The chart's RBAC is exactly what the operator needs. The operator runs as a ServiceAccount bound to
// the chart's ClusterRole as helm renders it, through a scenario that exercises every path that calls
// the apiserver (all five kinds with status, credential Secrets, Service targets, a DataPlane with a
// hand edit, autoscaling turned off, the PDB dropped, a condition that flips twice, a stale node report
// of a gone replica). The apiserver's audit log then shows every request it made: none was refused, and
// every verb on every resource the ClusterRole grants was used at least once. The admission webhook
// runs too, with an inert copy of the chart's ValidatingWebhookConfiguration whose caBundle it keeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWatches, rbacUsage, readAudit, waitForAudit } from '../env/audit.ts';
import { ENV } from '../env/env.ts';
import { chartRules, serviceAccountIdentity } from '../env/identity.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import {
  adminKubeConfig,
  Cluster,
  conditionOf,
  eventually,
  hasConditions,
  inertWebhookConfiguration,
  webhookCaBundleSet,
  webhookConfigurationPath,
  type Obj,
} from './kube.ts';

/**
 * Grants no audited request names, because the apiserver authorizes them on another request's behalf:
 * - a server-side apply (audited as `patch`) that creates its object is also authorized as `create`;
 * - OwnerReferencesPermissionEnforcement (OpenShift and hardened clusters) requires `update` on the
 *   owner's finalizers to set blockOwnerDeletion on the managed objects' owner references.
 * Each `create` here is proved needed by the scenario: the object is created by an apply, which a
 * role without `create` is refused (403).
 */
const authorizedOnBehalf = new Set([
  ' serviceaccounts create',
  ' services create',
  ' configmaps create',
  ' secrets create',
  'apps deployments create',
  'policy poddisruptionbudgets create',
  'autoscaling horizontalpodautoscalers create',
  'gatehouse.dev dataplanes/finalizers update',
]);

const api = 'gatehouse.dev/v1alpha1';
const obj = (kind: string, namespace: string, name: string, spec: Record<string, unknown>): Obj => ({
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

describe('chart RBAC', () => {
  const cluster = new Cluster();
  const auditLog = process.env[ENV.auditLog];
  let operator: KubeOperator | undefined;
  let username = '';
  let ns = '';
  const since = new Date();

  beforeAll(async () => {
    if (!auditLog) return;
    ns = await cluster.operatorNamespace('rbac');
    const identity = await serviceAccountIdentity(adminKubeConfig(), { namespace: ns, name: 'gatehouse' });
    username = identity.username;
    // A report of a replica that has been gone for an hour: the leader deletes it.
    await cluster.rest.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'gatehouse-nodes-gone',
        namespace: ns,
        // As every operator has written them: managed-by too (the informer selects both).
        labels: { 'gatehouse.dev/node-report': 'true', 'app.kubernetes.io/managed-by': 'gatehouse' },
        annotations: {
          'gatehouse.dev/heartbeat': new Date(Date.now() - 3_600_000).toISOString(),
          'gatehouse.dev/identity': 'gone',
        },
      },
      data: { 'nodes.json': '[]' },
    });
    await cluster.apply(inertWebhookConfiguration());
    operator = await startKubeOperator({
      kc: identity.kubeconfig,
      log: silentLog,
      namespace: ns,
      watchNamespace: ns,
      identity: 'rbac-0',
      host: '127.0.0.1',
      xdsPort: 0,
      debounceMs: 20,
      leaderElection: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 },
      nodeReports: { heartbeatMs: 500, debounceMs: 50 },
      // The admission webhook: its certificate, and the caBundle of the chart's configuration (get, patch).
      webhook: { port: 0, host: '127.0.0.1', resyncMs: 500 },
      dataPlane: {
        xds: { host: 'gatehouse-xds', port: 18000 },
        envoyImage: 'envoyproxy/envoy:test',
        gatehouseImage: 'gatehouse:test',
      },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await cluster.rest.delete(webhookConfigurationPath).catch(() => {});
  });

  it('every call the operator makes is allowed, and every grant is used', async (ctx) => {
    if (!auditLog || !operator) return ctx.skip(); // a KUBECONFIG cluster has no audit log for us to read
    await eventually('leading', () => operator!.isLeader());

    await cluster.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'key', namespace: ns, labels: { 'gatehouse.dev/credential': 'true' } },
      stringData: { consumerKey: 'k-rbac' },
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
      endpoints: [{ addresses: ['10.0.0.7'], conditions: { ready: true } }],
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
    await cluster.apply(
      obj('ApiProduct', ns, 'gold', { displayName: 'Gold', proxies: ['orders'], resources: ['/**'] }),
    );
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
      JSON.stringify(operator!.snapshots.current()?.snapshot.envoy.endpoints ?? []).includes('10.0.0.7'),
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
        !(await cluster.rest.list(`/api/v1/namespaces/${ns}/configmaps`)).items.some(
          (c) => (c as Obj).metadata.name === 'gatehouse-nodes-gone',
        ),
    );

    // The admission webhook's caBundle written by the leader (get, then patch).
    await eventually('webhook caBundle written', () => webhookCaBundleSet(cluster));

    // Every informer is watching before the operator stops: on a loaded machine one may still be in its
    // first list (or re-listing) at this point, and a watch never started would read as an unused grant.
    await eventually(
      'every collection the operator may watch is being watched',
      () =>
        rbacUsage(readAudit(auditLog, { username, since, stage: 'ResponseStarted' }), chartRules())
          .unusedGrants.filter((g) => g.verb === 'watch')
          .every((g) => authorizedOnBehalf.has(`${g.apiGroup} ${g.resource} ${g.verb}`)),
      60_000,
    );

    // Stop (releases the Lease: one more update). A watch is logged as complete only once the apiserver
    // has noticed the operator hung up: wait until every watch it opened is in the log.
    await operator.stop();
    operator = undefined;
    await waitForAudit(auditLog, { username, since }, () => openWatches(auditLog, { username, since }) === 0, 60_000);
    // Read once more: waitForAudit's records were read before openWatches looked, and the completions
    // it counted may have landed in between.
    const records = readAudit(auditLog, { username, since });
    const usage = rbacUsage(records, chartRules());
    expect(records.length).toBeGreaterThan(50);
    expect(
      usage.denied.map(
        (r) =>
          `${r.verb} ${r.apiGroup}/${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.namespace}/${r.name}`,
      ),
    ).toEqual([]);
    const unused = usage.unusedGrants
      .map((g) => `${g.apiGroup} ${g.resource} ${g.verb}`)
      .filter((g) => !authorizedOnBehalf.has(g));
    expect(unused).toEqual([]);
  });
});
