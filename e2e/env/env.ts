// The test environment: a real etcd + kube-apiserver and a real Redis, with crds/ applied and the
// Helm chart's ClusterRole bound to a restricted identity. Started once per test run by vitest's
// global setup, by `npm run testenv` for manual use, and by benchmarks.
//
// Or, with GATEHOUSE_E2E_CLUSTER=kubeconfig and KUBECONFIG set (both: a developer's stray KUBECONFIG
// must never point the tests at a real cluster), the cluster KUBECONFIG names (kind, see e2e/kind/):
// no etcd or kube-apiserver is started; the CRDs and the chart's RBAC are applied to it, the restricted
// identity is a ServiceAccount (identity.ts), and there is no audit log.
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { applyManifests, kubeRequest } from './apply.ts';
import { OPERATOR_TEST_USER, startControlPlane, type ControlPlane } from './controlplane.ts';
import { TestEnvStartError } from './errors.ts';
import { chartRules, serviceAccountIdentity } from './identity.ts';
import { ensureRedisServer, startRedis, type RedisServer } from './redis.ts';
import { ensureTestBinaries, ETCD_VERSION, KUBERNETES_VERSION } from './testbin.ts';

export { applyManifests } from './apply.ts';

const root = new URL('../..', import.meta.url).pathname;

/** What tests read from process.env (set by the global setup). */
export const ENV = {
  adminKubeconfig: 'GATEHOUSE_TEST_KUBECONFIG',
  operatorKubeconfig: 'GATEHOUSE_TEST_OPERATOR_KUBECONFIG',
  /** The restricted identity's user name as RBAC and the audit log see it. */
  operatorUsername: 'GATEHOUSE_TEST_OPERATOR_USERNAME',
  redisUrl: 'GATEHOUSE_TEST_REDIS_URL',
  redisServer: 'GATEHOUSE_REDIS_SERVER',
  /** The apiserver's audit log (audit.ts); unset on a KUBECONFIG cluster, where tests needing it skip. */
  auditLog: 'GATEHOUSE_TEST_AUDIT_LOG',
  /** `local` (e2e/env's own etcd + kube-apiserver, no kubelet) or `kubeconfig` (a real cluster). */
  clusterMode: 'GATEHOUSE_TEST_CLUSTER_MODE',
} as const;

/** Where the ServiceAccount identity of KUBECONFIG mode lives. */
export const CLUSTER_IDENTITY = { namespace: 'gatehouse-e2e', name: 'gatehouse-operator-e2e' } as const;

export interface TestEnv {
  /** The local control plane; undefined on a KUBECONFIG cluster. */
  controlPlane?: ControlPlane;
  redis: RedisServer;
  dir: string;
  /** Environment variables for test processes (names in ENV). */
  vars: Record<string, string>;
  timings: { binariesMs: number; startMs: number };
  stop(): Promise<void>;
}

export async function startTestEnv(log: (line: string) => void = () => {}): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-testenv-'));
  const t0 = Date.now();
  const bins = ensureTestBinaries(log);
  const redisBinary = ensureRedisServer(log);
  const t1 = Date.now();
  const started = await Promise.allSettled([startControlPlane(bins, join(dir, 'kube')), startRedis(redisBinary, dir)]);
  const [cp, rd] = started;
  if (cp.status === 'rejected' || rd.status === 'rejected') {
    await Promise.all(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])));
    throw cp.status === 'rejected' ? cp.reason : (rd as PromiseRejectedResult).reason;
  }
  const [controlPlane, redis] = [cp.value, rd.value];
  try {
    await installForTests(controlPlane);
  } catch (err) {
    await Promise.all([controlPlane.stop(), redis.stop()]);
    throw err;
  }
  const startMs = Date.now() - t1;
  log(
    `test environment up in ${(startMs / 1000).toFixed(1)} s: Kubernetes ${KUBERNETES_VERSION}, etcd ${ETCD_VERSION} ` +
      `(binaries: ${bins.origin}), redis ${redis.url}`,
  );
  return {
    controlPlane,
    redis,
    dir,
    vars: {
      [ENV.adminKubeconfig]: controlPlane.adminKubeconfig,
      [ENV.operatorKubeconfig]: controlPlane.operatorKubeconfig,
      [ENV.operatorUsername]: OPERATOR_TEST_USER,
      [ENV.redisUrl]: redis.url,
      [ENV.redisServer]: redisBinary,
      [ENV.auditLog]: controlPlane.auditLog,
      [ENV.clusterMode]: 'local',
    },
    timings: { binariesMs: t1 - t0, startMs },
    async stop() {
      await Promise.all([controlPlane.stop(), redis.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CRDs and the chart's ClusterRole for the restricted identity, applied and serving. */
async function installForTests(controlPlane: ControlPlane): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(controlPlane.adminKubeconfig);
  const crds = crdDocuments();
  await applyManifests(kc, [...chartRbacForTestUser(), ...crds]);
  await waitCrdsEstablished(kc, crds);
}

/** A control plane of its own, prepared as the shared one is; no Redis (docs/operations.md#multi-region). */
export interface PrivateControlPlane {
  controlPlane: ControlPlane;
  /** The admin's and the restricted identity's kubeconfig files. */
  adminKubeconfig: string;
  operatorKubeconfig: string;
  stop(): Promise<void>;
}

/**
 * A second, independent cluster next to the shared test environment: its own etcd and kube-apiserver
 * on free ports, with the CRDs and the chart's RBAC, and nothing else (no Redis): what a test of two
 * clusters (regions) adds to the one every suite shares. Binaries come from the same cache.
 */
export async function startPrivateControlPlane(): Promise<PrivateControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-controlplane-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  let controlPlane: ControlPlane;
  try {
    controlPlane = await startControlPlane(ensureTestBinaries(), join(dir, 'kube'));
  } catch (err) {
    remove();
    throw err;
  }
  const stop = async () => {
    await controlPlane.stop();
    remove();
  };
  try {
    await installForTests(controlPlane);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    controlPlane,
    adminKubeconfig: controlPlane.adminKubeconfig,
    operatorKubeconfig: controlPlane.operatorKubeconfig,
    stop,
  };
}

/** Which cluster the tests use, from the environment (see the file comment and e2e/README.md). */
export type ClusterChoice = { mode: 'local'; ignoredKubeconfig?: string } | { mode: 'kubeconfig'; kubeconfig: string };

export function chooseCluster(env: NodeJS.ProcessEnv = process.env): ClusterChoice {
  const wanted = env.GATEHOUSE_E2E_CLUSTER;
  if (wanted !== undefined && wanted !== '' && wanted !== 'local' && wanted !== 'kubeconfig') {
    throw new TestEnvStartError(`GATEHOUSE_E2E_CLUSTER is "${wanted}"; it is "local" (the default) or "kubeconfig"`);
  }
  const kubeconfig = env.KUBECONFIG;
  if (wanted !== 'kubeconfig' || env.GATEHOUSE_TEST_USE_KUBECONFIG === '0') {
    return kubeconfig ? { mode: 'local', ignoredKubeconfig: kubeconfig } : { mode: 'local' };
  }
  if (!kubeconfig)
    throw new TestEnvStartError(
      "GATEHOUSE_E2E_CLUSTER=kubeconfig needs KUBECONFIG naming the cluster's kubeconfig file",
    );
  if (kubeconfig.includes(':'))
    throw new TestEnvStartError(`KUBECONFIG names several files (${kubeconfig}); name exactly one for the tests`);
  if (!existsSync(kubeconfig)) throw new TestEnvStartError(`KUBECONFIG names ${kubeconfig}, which does not exist`);
  return { mode: 'kubeconfig', kubeconfig };
}

/**
 * The test environment on an existing cluster (kind): CRDs and the chart's RBAC applied with the
 * kubeconfig's (admin) credentials, the restricted identity a ServiceAccount bound by the chart's
 * templates, and a local Redis. Nothing is deleted on stop: the cluster is the caller's.
 */
export async function startClusterTestEnv(
  kubeconfig: string,
  log: (line: string) => void = () => {},
): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-testenv-'));
  const t0 = Date.now();
  const redisBinary = ensureRedisServer(log);
  const t1 = Date.now();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const server = kc.getCurrentCluster()?.server;
  log(
    `using the cluster of KUBECONFIG=${kubeconfig} (context ${kc.getCurrentContext()}, ${server}); no local control plane`,
  );
  const redis = await startRedis(redisBinary, dir);
  let identity;
  try {
    const crds = crdDocuments();
    await applyManifests(kc, crds);
    await waitCrdsEstablished(kc, crds);
    identity = await serviceAccountIdentity(kc, { ...CLUSTER_IDENTITY, dir, log });
  } catch (err) {
    await redis.stop();
    throw err;
  }
  const startMs = Date.now() - t1;
  log(
    `test environment ready in ${(startMs / 1000).toFixed(1)} s: cluster ${server}, operator identity ${identity.username}, redis ${redis.url}`,
  );
  return {
    redis,
    dir,
    vars: {
      [ENV.adminKubeconfig]: kubeconfig,
      [ENV.operatorKubeconfig]: identity.kubeconfigPath,
      [ENV.operatorUsername]: identity.username,
      [ENV.redisUrl]: redis.url,
      [ENV.redisServer]: redisBinary,
      [ENV.clusterMode]: 'kubeconfig',
    },
    timings: { binariesMs: t1 - t0, startMs },
    async stop() {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The chart's ClusterRole rules (charts/gatehouse/files/clusterrole-rules.yaml), bound to the test user. */
function chartRbacForTestUser(): k8s.KubernetesObject[] {
  const rules = chartRules();
  const name = 'gatehouse-operator-test';
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name },
      rules,
    } as k8s.KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: OPERATOR_TEST_USER }],
    } as k8s.KubernetesObject,
  ];
}

function crdDocuments(): k8s.KubernetesObject[] {
  const dir = join(root, 'crds');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8'))
        .map((d) => d.toJS() as k8s.KubernetesObject)
        .filter(Boolean),
    );
}

/**
 * Waits until the CRDs are Established and their storage serves: right after Established, a list
 * answers 429 "storage is (re)initializing" while the watch cache fills, which a test's first call
 * must not see.
 */
async function waitCrdsEstablished(
  kc: k8s.KubeConfig,
  crds: k8s.KubernetesObject[],
  timeoutMs = 30_000,
): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const names = new Set(crds.map((c) => c.metadata?.name));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await api.listCustomResourceDefinition();
    const pending = list.items.filter(
      (crd) =>
        names.has(crd.metadata?.name) &&
        !crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'),
    );
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      throw new TestEnvStartError(`CRDs not Established: ${pending.map((c) => c.metadata?.name).join(', ')}`);
    }
    await sleep(100);
  }
  for (const crd of crds as {
    spec?: { group?: string; names?: { plural?: string }; versions?: { name: string; served?: boolean }[] };
  }[]) {
    const version = crd.spec?.versions?.find((v) => v.served !== false)?.name;
    const path = `/apis/${crd.spec?.group}/${version}/${crd.spec?.names?.plural}?limit=1`;
    for (;;) {
      const { status, body } = await kubeRequest(kc, 'GET', path);
      if (status === 200) break;
      if (Date.now() > deadline) throw new TestEnvStartError(`${path} does not serve: ${status} ${body}`);
      await sleep(100);
    }
  }
}
