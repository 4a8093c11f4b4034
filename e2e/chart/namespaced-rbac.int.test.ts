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
import { exerciseEveryGrant } from '../operator/grants-scenario.ts';
import {
  adminKubeConfig,
  Cluster,
  credentialKeySecret,
  eventually,
  inertWebhookConfiguration,
  webhookConfigurationPath,
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

    await exerciseEveryGrant(cluster, operator, {
      ns,
      reportsNamespace: ops,
      consumerKey: 'k-nsrbac',
      endpoint: '10.0.0.8',
    });

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
