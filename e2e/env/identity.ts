// A ServiceAccount identity with exactly the chart's RBAC, as the operator has it in a cluster: the
// chart's ServiceAccount, ClusterRole and ClusterRoleBinding, and with operator.watchNamespace its Roles
// and RoleBindings (rendered by the real helm, or built from files/clusterrole-rules.yaml when helm is
// not wanted), and a token minted by the TokenRequest API.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { applyManifests, kubeRequest } from './apply.ts';
import { TestEnvRequestError, TestEnvTimeoutError } from './errors.ts';
import { CHART_DIR, renderChart } from './helm.ts';

export interface ServiceAccountIdentity {
  /** A kubeconfig file with the identity's token (mode 0600). */
  kubeconfigPath: string;
  /** system:serviceaccount:NAMESPACE:NAME, as the audit log and RBAC see it. */
  username: string;
  kubeconfig: k8s.KubeConfig;
}

export interface ServiceAccountIdentityOptions {
  namespace: string;
  name: string;
  /** 'helm' (default): the chart's templates as helm renders them; 'rules-file': the rules file, no helm. */
  rbac?: 'helm' | 'rules-file';
  /** More chart values (`--set`) for 'helm', e.g. `operator.watchNamespace` (which must exist) for the namespaced Roles. */
  set?: Record<string, string>;
  /** Token lifetime (default 24 h; the apiserver may shorten it). */
  expirationSeconds?: number;
  /** Where to write the kubeconfig (default: a new temporary folder). */
  dir?: string;
  log?: (line: string) => void;
}

/**
 * Creates (or updates) namespace, ServiceAccount and the chart's RBAC bound to it, and mints a token.
 * The ClusterRole and binding are named after a release derived from namespace and name, so several
 * identities live side by side.
 */
export async function serviceAccountIdentity(
  adminKc: k8s.KubeConfig,
  options: ServiceAccountIdentityOptions,
): Promise<ServiceAccountIdentity> {
  const { namespace, name } = options;
  await applyManifests(adminKc, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }]);
  const release = releaseName(namespace, name);
  const rbac =
    options.rbac === 'rules-file'
      ? rbacFromRulesFile(release, namespace, name)
      : renderChart({
          release,
          namespace,
          set: { 'serviceAccount.name': name, ...options.set },
          log: options.log,
        }).filter((o) => rbacKinds.has(o.kind ?? ''));
  await applyManifests(adminKc, rbac);

  const token = await requestToken(adminKc, namespace, name, options.expirationSeconds ?? 86_400);
  const kubeconfigPath = join(
    options.dir ?? mkdtempSync(join(tmpdir(), 'gatehouse-identity-')),
    `${namespace}.${name}.kubeconfig`,
  );
  const username = `system:serviceaccount:${namespace}:${name}`;
  writeFileSync(kubeconfigPath, kubeconfigFor(adminKc, username, token, namespace), { mode: 0o600 });
  const kubeconfig = new k8s.KubeConfig();
  kubeconfig.loadFromFile(kubeconfigPath);
  await waitRbacEffective(kubeconfig, rbac);
  return { kubeconfigPath, username, kubeconfig };
}

/** What the chart's RBAC is made of (with the chart's values, ClusterRole and binding, or Roles too). */
const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/**
 * The apiserver's RBAC authorizer learns of new roles and bindings through its informers, a moment
 * after the write: wait until the identity is allowed the first thing each of its roles grants.
 */
async function waitRbacEffective(kc: k8s.KubeConfig, rbac: k8s.KubernetesObject[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const role of rbac.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role') as (k8s.KubernetesObject & {
    rules?: k8s.V1PolicyRule[];
  })[]) {
    await waitAllowed(kc, role, deadline, timeoutMs);
  }
}

async function waitAllowed(
  kc: k8s.KubeConfig,
  role: k8s.KubernetesObject & { rules?: k8s.V1PolicyRule[] },
  deadline: number,
  timeoutMs: number,
): Promise<void> {
  const rule = role.rules?.find((r) => r.apiGroups?.length && r.resources?.length && r.verbs.length);
  if (!rule) return;
  const [resource, subresource] = rule.resources![0]!.split('/');
  const attributes = {
    group: rule.apiGroups![0],
    resource,
    subresource,
    verb: rule.verbs[0],
    namespace: role.kind === 'Role' ? role.metadata?.namespace : undefined,
  };
  for (;;) {
    const { status, body } = await kubeRequest(kc, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: attributes },
    });
    if (status === 201 && (JSON.parse(body) as { status?: { allowed?: boolean } }).status?.allowed) return;
    if (Date.now() > deadline) {
      throw new TestEnvTimeoutError(
        `the chart's RBAC did not take effect within ${timeoutMs} ms (${JSON.stringify(attributes)}: ${status} ${body})`,
      );
    }
    await sleep(100);
  }
}

/** A Helm release name (at most 53 characters, DNS-1123) unique to namespace and name. */
function releaseName(namespace: string, name: string): string {
  const plain = `${namespace}-${name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (plain.length <= 53) return plain;
  const hash = createHash('sha256').update(plain).digest('hex').slice(0, 8);
  return `${plain.slice(0, 44).replace(/-+$/, '')}-${hash}`;
}

/** The chart's rules file, as the chart's templates would bind it. */
export function chartRules(): k8s.V1PolicyRule[] {
  return parseAllDocuments(
    readFileSync(join(CHART_DIR, 'files/clusterrole-rules.yaml'), 'utf8'),
  )[0]!.toJS() as k8s.V1PolicyRule[];
}

function rbacFromRulesFile(release: string, namespace: string, name: string): k8s.KubernetesObject[] {
  const roleName = `${release}-operator`;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: roleName },
      rules: chartRules(),
    } as k8s.KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: roleName },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    } as k8s.KubernetesObject,
  ];
}

async function requestToken(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  expirationSeconds: number,
): Promise<string> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`;
  const { status, body } = await kubeRequest(kc, 'POST', path, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds },
  });
  if (status !== 201 && status !== 200)
    throw new TestEnvRequestError(`TokenRequest for ${namespace}/${name} failed (${status}): ${body}`);
  const token = (JSON.parse(body) as { status?: { token?: string } }).status?.token;
  if (!token) throw new TestEnvRequestError(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

/** A kubeconfig for the admin's cluster (same server and CA) with the identity's token. */
function kubeconfigFor(adminKc: k8s.KubeConfig, user: string, token: string, namespace: string): string {
  const cluster = adminKc.getCurrentCluster();
  if (!cluster) throw new TestEnvRequestError('the admin kubeconfig has no current cluster');
  const caData = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'identity',
      clusters: [
        {
          name: 'cluster',
          cluster: {
            server: cluster.server,
            ...(caData ? { 'certificate-authority-data': caData } : {}),
            ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
            ...(cluster.tlsServerName ? { 'tls-server-name': cluster.tlsServerName } : {}),
          },
        },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'identity', context: { cluster: 'cluster', user, namespace } }],
    },
    null,
    2,
  );
}
