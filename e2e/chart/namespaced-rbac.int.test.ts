// The chart's namespaced RBAC (operator.watchNamespace) is enough, and each grant sits where it is used.
// The operator runs as a ServiceAccount bound by the chart's Roles and ClusterRole as helm renders them
// with watchNamespace, its own namespace apart from the watched one, through the scenario of
// e2e/operator/rbac.int.test.ts (all five kinds with status, credential Secrets, Service targets, a
// DataPlane with a hand edit, autoscaling turned off, the PDB dropped, a condition that flips twice,
// remediation of a zombie and of a pod on a lost node, a stale node report). The apiserver's audit log
// then shows: no request refused, nothing used across namespaces but Nodes and the webhook
// configuration (both cluster-scoped), and every grant of each Role used in that Role's namespace (and
// of the ClusterRole, cluster-wide). The admission webhook runs too, with an inert copy of the chart's
// ValidatingWebhookConfiguration whose caBundle it keeps.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWatches, rbacUsage, readAudit, waitForAudit, type AuditRecord, type PolicyRule } from '../env/audit.ts';
import { ENV } from '../env/env.ts';
import { CHART_DIR } from '../env/helm.ts';
import { serviceAccountIdentity } from '../env/identity.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import {
  adminKubeConfig,
  Cluster,
  conditionOf,
  credentialKeySecret,
  eventually,
  hasConditions,
  inertWebhookConfiguration,
  webhookCaBundleSet,
  webhookConfigurationPath,
  type Obj,
} from '../operator/kube.ts';

const rulesFile = (path: string) =>
  parseAllDocuments(readFileSync(join(CHART_DIR, 'files/namespaced', path), 'utf8'))[0]!.toJS() as PolicyRule[];

/**
 * Grants no audited request names, because the apiserver authorizes them on another request's behalf
 * (see e2e/operator/rbac.int.test.ts): a server-side apply that creates its object is also authorized
 * as `create`; blockOwnerDeletion on owner references needs `update` on the owner's finalizers. And one
 * grant the scenario does not reach in the operator's namespace, said where.
 */
const authorizedOnBehalf = {
  watched: new Set([
    ' serviceaccounts create',
    ' services create',
    ' configmaps create',
    ' secrets create',
    'apps deployments create',
    'policy poddisruptionbudgets create',
    'autoscaling horizontalpodautoscalers create',
    'gatehouse.dev dataplanes/finalizers update',
  ]),
  operator: new Set([
    ' configmaps create',
    ' secrets create',
    // A repeated Event about the CA or xDS Secrets (IssueFailed while retrying) joins its series with
    // a patch; nothing fails repeatedly there in this scenario. The watched namespace proves the verb.
    'events.k8s.io events patch',
  ]),
  cluster: new Set<string>(),
};

const api = 'gatehouse.dev/v1alpha1';
const obj = (kind: string, namespace: string, name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: api,
  kind,
  metadata: { name, namespace },
  spec,
});
const iso = (msAgo = 0) => new Date(Date.now() - msAgo).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** No kubelet runs: the test writes Node and Pod status as one would. */
async function remediationScenario(cluster: Cluster, ns: string): Promise<void> {
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

const describeRecord = (r: AuditRecord) =>
  `${r.verb} ${r.apiGroup}/${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.namespace}/${r.name}`;

describe('chart RBAC in namespaced mode', () => {
  const cluster = new Cluster();
  const auditLog = process.env[ENV.auditLog];
  let operator: KubeOperator | undefined;
  let username = '';
  let ops = '';
  let shop = '';
  let since = new Date();

  beforeAll(async () => {
    if (!auditLog) return;
    ops = await cluster.namespace('nsrbac-ops');
    shop = await cluster.namespace('nsrbac-shop');
    const identity = await serviceAccountIdentity(adminKubeConfig(), {
      namespace: ops,
      name: 'gatehouse',
      set: { 'operator.watchNamespace': shop },
    });
    username = identity.username;
    since = new Date(); // after the identity's own access reviews
    // A report of a replica that has been gone for an hour: the leader deletes it.
    await cluster.rest.create(`/api/v1/namespaces/${ops}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'gatehouse-nodes-gone',
        namespace: ops,
        labels: { 'gatehouse.dev/node-report': 'true', 'app.kubernetes.io/managed-by': 'gatehouse' },
        annotations: {
          'gatehouse.dev/heartbeat': new Date(Date.now() - 3_600_000).toISOString(),
          'gatehouse.dev/identity': 'gone',
        },
      },
      data: { 'nodes.json': '[]' },
    });
    // The credential hash key in the operator's namespace, read through the Role there while it watches shop.
    await cluster.apply(credentialKeySecret(ops));
    await cluster.apply(inertWebhookConfiguration());
    operator = await startKubeOperator({
      kc: identity.kubeconfig,
      log: silentLog,
      namespace: ops,
      watchNamespace: shop,
      identity: 'nsrbac-0',
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

  it('every call the operator makes is allowed in its namespace, and every grant is used where it is granted', async (ctx) => {
    if (!auditLog || !operator) return ctx.skip(); // a KUBECONFIG cluster has no audit log for us to read
    await eventually('leading', () => operator!.isLeader());
    const ns = shop;

    await cluster.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'key', namespace: ns, labels: { 'gatehouse.dev/credential': 'true' } },
      stringData: { consumerKey: 'k-nsrbac' },
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
      endpoints: [{ addresses: ['10.0.0.8'], conditions: { ready: true } }],
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
      JSON.stringify(operator!.snapshots.current()?.snapshot.envoy.endpoints ?? []).includes('10.0.0.8'),
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
    await remediationScenario(cluster, ns);

    await eventually(
      'the stale node report deleted',
      async () =>
        !(await cluster.rest.list(`/api/v1/namespaces/${ops}/configmaps`)).items.some(
          (c) => (c as Obj).metadata.name === 'gatehouse-nodes-gone',
        ),
    );

    // The admission webhook's caBundle written by the leader (get, then patch: the ClusterRole).
    await eventually('webhook caBundle written', () => webhookCaBundleSet(cluster));

    // Every informer is watching before the operator stops: on a loaded machine one may still be in its
    // first list (or re-listing) at this point, and a watch never started would read as an unused grant.
    const scopes = [
      ['watched', shop, 'role-rules.yaml'],
      ['operator', ops, 'operator-role-rules.yaml'],
      ['cluster', '', 'clusterrole-rules.yaml'],
    ] as const;
    await eventually(
      'every collection the operator may watch is being watched',
      () => {
        const started = readAudit(auditLog, { username, since, stage: 'ResponseStarted' });
        return scopes.every(([scope, namespace, file]) =>
          rbacUsage(
            started.filter((r) => r.namespace === namespace),
            rulesFile(file),
          )
            .unusedGrants.filter((g) => g.verb === 'watch')
            .every((g) => authorizedOnBehalf[scope].has(`${g.apiGroup} ${g.resource} ${g.verb}`)),
        );
      },
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
    expect(records.length).toBeGreaterThan(50);
    expect(records.filter((r) => r.code === 403).map(describeRecord)).toEqual([]);
    // Only Nodes and the webhook configuration (cluster-scoped) are used across namespaces; everything else
    // stays in the two namespaces.
    expect(
      [
        ...new Set(
          records
            .filter((r) => r.resource !== '' && r.namespace === '')
            .map((r) => `${r.verb} ${r.apiGroup}/${r.resource}`),
        ),
      ].sort(),
    ).toEqual([
      'get admissionregistration.k8s.io/validatingwebhookconfigurations',
      'list /nodes',
      'patch admissionregistration.k8s.io/validatingwebhookconfigurations',
      'watch /nodes',
    ]);
    expect([...new Set(records.map((r) => r.namespace))].filter((n) => n !== '').sort()).toEqual([ops, shop].sort());
    const unused = (scope: keyof typeof authorizedOnBehalf, namespace: string, file: string) =>
      rbacUsage(
        records.filter((r) => r.namespace === namespace),
        rulesFile(file),
      )
        .unusedGrants.map((g) => `${g.apiGroup} ${g.resource} ${g.verb}`)
        .filter((g) => !authorizedOnBehalf[scope].has(g));
    expect(unused('watched', shop, 'role-rules.yaml')).toEqual([]);
    expect(unused('operator', ops, 'operator-role-rules.yaml')).toEqual([]);
    expect(unused('cluster', '', 'clusterrole-rules.yaml')).toEqual([]);
  });
});
