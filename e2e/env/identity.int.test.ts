// A ServiceAccount with the chart's RBAC (rendered by the real helm) gets a working token: it may do
// what the chart grants and nothing else, and the audit log records both the allowed and the refused
// calls under its name.
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from './apply.ts';
import { rbacUsage, waitForAudit } from './audit.ts';
import { ENV } from './env.ts';
import { chartRules, serviceAccountIdentity, type ServiceAccountIdentity } from './identity.ts';

function admin(): k8s.KubeConfig {
  const file = process.env[ENV.adminKubeconfig];
  if (!file)
    throw new Error(
      `${ENV.adminKubeconfig} is not set: run through the integration project (vitest --project integration)`,
    );
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

describe('serviceAccountIdentity', () => {
  let identity: ServiceAccountIdentity;
  const started = new Date(Date.now() - 1_000);

  beforeAll(async () => {
    identity = await serviceAccountIdentity(admin(), {
      namespace: 'identity-test',
      name: 'gatehouse-operator',
      log: (line) => process.stdout.write(`[identity] ${line}\n`),
    });
  });

  it('is the ServiceAccount, authenticated by its TokenRequest token', async () => {
    expect(identity.username).toBe('system:serviceaccount:identity-test:gatehouse-operator');
    const review = await kubeRequest(identity.kubeconfig, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    expect(review.status).toBe(201);
    expect((JSON.parse(review.body) as { status: { userInfo: { username: string } } }).status.userInfo.username).toBe(
      identity.username,
    );
  });

  it('may list apiproxies (the chart grants it) and may not delete a Namespace', async () => {
    const list = await kubeRequest(identity.kubeconfig, 'GET', '/apis/gatehouse.dev/v1alpha1/apiproxies');
    expect(list.status, list.body).toBe(200);
    const remove = await kubeRequest(identity.kubeconfig, 'DELETE', '/api/v1/namespaces/identity-test');
    expect(remove.status).toBe(403);
    expect((JSON.parse(remove.body) as { message: string }).message).toContain(
      `User "${identity.username}" cannot delete resource "namespaces"`,
    );
  });

  it('leaves both calls in the audit log under its name', async (ctx) => {
    const auditLog = process.env[ENV.auditLog];
    if (!auditLog) ctx.skip(`${ENV.auditLog} is not set: a KUBECONFIG cluster has no audit log we can read`);
    const records = await waitForAudit(auditLog!, { username: identity.username, since: started }, (rs) =>
      rs.some((r) => r.verb === 'delete' && r.resource === 'namespaces'),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        verb: 'list',
        apiGroup: 'gatehouse.dev',
        resource: 'apiproxies',
        namespace: '',
        code: 200,
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        verb: 'delete',
        apiGroup: '',
        resource: 'namespaces',
        name: 'identity-test',
        code: 403,
      }),
    );
    const usage = rbacUsage(records, chartRules());
    expect(usage.denied.map((r) => `${r.verb} ${r.resource}`)).toEqual(['delete namespaces']);
    expect(usage.unusedGrants).not.toContainEqual({ apiGroup: 'gatehouse.dev', resource: 'apiproxies', verb: 'list' });
    expect(usage.unusedGrants).toContainEqual({ apiGroup: 'gatehouse.dev', resource: 'apiproxies', verb: 'watch' });
  });
});
