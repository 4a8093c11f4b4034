// The test environment: a real etcd + kube-apiserver and a real Redis, with crds/ applied and the
// Helm chart's ClusterRole bound to a restricted identity. Started once per test run by vitest's
// global setup, by `npm run testenv` for manual use, and by benchmarks.
import * as https from 'node:https';
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { OPERATOR_TEST_USER, startControlPlane, type ControlPlane } from './controlplane.ts';
import { TestEnvStartError } from './errors.ts';
import { ensureRedisServer, startRedis, type RedisServer } from './redis.ts';
import { ensureTestBinaries, ETCD_VERSION, KUBERNETES_VERSION } from './testbin.ts';

const root = new URL('../..', import.meta.url).pathname;

/** What tests read from process.env (set by the global setup). */
export const ENV = {
  adminKubeconfig: 'GATEHOUSE_TEST_KUBECONFIG',
  operatorKubeconfig: 'GATEHOUSE_TEST_OPERATOR_KUBECONFIG',
  redisUrl: 'GATEHOUSE_TEST_REDIS_URL',
  redisServer: 'GATEHOUSE_REDIS_SERVER',
} as const;

export interface TestEnv {
  controlPlane: ControlPlane;
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
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw cp.status === 'rejected' ? cp.reason : (rd as PromiseRejectedResult).reason;
  }
  const [controlPlane, redis] = [cp.value, rd.value];
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(controlPlane.adminKubeconfig);
    await applyManifests(kc, [...chartRbacForTestUser(), ...crdDocuments()]);
    await waitCrdsEstablished(kc);
  } catch (err) {
    await Promise.all([controlPlane.stop(), redis.stop()]);
    throw err;
  }
  const startMs = Date.now() - t1;
  log(`test environment up in ${(startMs / 1000).toFixed(1)} s: Kubernetes ${KUBERNETES_VERSION}, etcd ${ETCD_VERSION} ` +
    `(binaries: ${bins.origin}), redis ${redis.url}`);
  return {
    controlPlane, redis, dir,
    vars: {
      [ENV.adminKubeconfig]: controlPlane.adminKubeconfig,
      [ENV.operatorKubeconfig]: controlPlane.operatorKubeconfig,
      [ENV.redisUrl]: redis.url,
      [ENV.redisServer]: redisBinary,
    },
    timings: { binariesMs: t1 - t0, startMs },
    async stop() {
      await Promise.all([controlPlane.stop(), redis.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The chart's ClusterRole rules (charts/gatehouse/files/clusterrole-rules.yaml), bound to the test user. */
function chartRbacForTestUser(): k8s.KubernetesObject[] {
  const rules = parseAllDocuments(readFileSync(join(root, 'charts/gatehouse/files/clusterrole-rules.yaml'), 'utf8'))[0]!.toJS();
  const name = 'gatehouse-operator-test';
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules } as k8s.KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: OPERATOR_TEST_USER }],
    } as k8s.KubernetesObject,
  ];
}

function crdDocuments(): k8s.KubernetesObject[] {
  const dir = join(root, 'crds');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as k8s.KubernetesObject).filter(Boolean));
}

/** REST paths of the cluster-scoped kinds the environment applies. */
const clusterScopedPaths: Record<string, string> = {
  CustomResourceDefinition: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
};

/**
 * Server-side apply of the objects exactly as written, so re-running against a live environment is
 * idempotent. Raw JSON on purpose: client-node's typed serializer knows CRD schemas only by its own
 * attribute names and silently drops `enum`, `default` and every `x-kubernetes-*` key.
 */
export async function applyManifests(kc: k8s.KubeConfig, objects: k8s.KubernetesObject[]): Promise<void> {
  const server = kc.getCurrentCluster()!.server;
  for (const object of objects) {
    const collection = clusterScopedPaths[object.kind ?? ''];
    if (!collection) throw new TestEnvStartError(`the test environment cannot apply kind ${object.kind}`);
    const url = new URL(`${collection}/${object.metadata!.name}?fieldManager=gatehouse-testenv&force=true`, server);
    const options: https.RequestOptions = { method: 'PATCH', headers: { 'content-type': 'application/apply-patch+yaml' } };
    await kc.applyToHTTPSOptions(options);
    const { status, body } = await send(url, options, JSON.stringify(object));
    if (status !== 200 && status !== 201) {
      throw new TestEnvStartError(`applying ${object.kind} ${object.metadata!.name} failed (${status}): ${body}`);
    }
  }
}

function send(url: URL, options: https.RequestOptions, payload: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function waitCrdsEstablished(kc: k8s.KubeConfig, timeoutMs = 30_000): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await api.listCustomResourceDefinition();
    const pending = list.items.filter((crd) => !crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new TestEnvStartError(`CRDs not Established: ${pending.map((c) => c.metadata?.name).join(', ')}`);
    }
    await sleep(100);
  }
}
