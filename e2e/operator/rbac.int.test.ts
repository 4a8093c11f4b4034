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
import { exerciseEveryGrant } from './grants-scenario.ts';
import { adminKubeConfig, Cluster, eventually, inertWebhookConfiguration, webhookConfigurationPath } from './kube.ts';

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

    await exerciseEveryGrant(cluster, operator, {
      ns,
      reportsNamespace: ns,
      consumerKey: 'k-rbac',
      endpoint: '10.0.0.7',
    });

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
