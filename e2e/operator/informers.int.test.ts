// The operator's informers against a real kube-apiserver. The credential hash key Secret lives in the
// operator's namespace, which need not be the watched one (--namespace): the operator still reads it,
// and follows its changes. And every collection is watched once: the apiserver's audit log shows one
// WATCH per collection at start (DataPlanes, Services and the rest are shared by the controllers, and
// the narrower collections are served from the broader ones' caches).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialKeySecretName, credentialSecretLabel } from '../../operator/src/api/names.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { readAudit, type AuditRecord } from '../env/audit.ts';
import { ENV } from '../env/env.ts';
import { serviceAccountIdentity } from '../env/identity.ts';
import { adminKubeConfig, Cluster, eventually, operatorKubeConfig, type Obj } from './kube.ts';

const keySecret = (namespace: string, key: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: credentialKeySecretName, namespace, labels: { [credentialSecretLabel]: 'true' } },
  stringData: { key },
});

const hex = (key: string) => Buffer.from(key, 'utf8').toString('hex');

const start = (kc: ReturnType<typeof operatorKubeConfig>, namespace: string, watchNamespace: string | undefined) =>
  startKubeOperator({
    kc,
    log: silentLog,
    namespace,
    watchNamespace,
    identity: `informers-${randomBytes(3).toString('hex')}`,
    host: '127.0.0.1',
    xdsPort: 0,
    debounceMs: 20,
    leaderElection: { enabled: false },
    nodeReports: { heartbeatMs: 500, debounceMs: 50 },
    dataPlane: {
      xds: { host: 'gatehouse-xds', port: 18000 },
      envoyImage: 'envoyproxy/envoy:test',
      gatehouseImage: 'gatehouse:test',
    },
  });

const servedKeyHex = (operator: KubeOperator) => operator.snapshots.current()?.snapshot.runtime.credentialHashKey;

describe('the credential hash key outside the watched namespace', () => {
  const cluster = new Cluster();
  let operator: KubeOperator | undefined;
  let ops = '';
  let shop = '';

  beforeAll(async () => {
    ops = await cluster.namespace('key-ops');
    shop = await cluster.namespace('key-shop');
    await cluster.rest.create(`/api/v1/namespaces/${ops}/secrets`, keySecret(ops, 'first-key'));
    operator = await start(operatorKubeConfig(), ops, shop);
  });

  afterAll(async () => {
    await operator?.stop();
    for (const ns of [ops, shop]) if (ns) await cluster.rest.delete(`/api/v1/namespaces/${ns}`);
  });

  it('is read from the operator namespace when the operator watches another one, and followed when it changes', async () => {
    await eventually('the key of the operator namespace hashes credentials', () =>
      Promise.resolve(servedKeyHex(operator!) === hex('first-key')),
    );
    await cluster.rest.mergePatch(`/api/v1/namespaces/${ops}/secrets/${credentialKeySecretName}`, {
      stringData: { key: 'second-key' },
    });
    await eventually('the changed key hashes credentials', () =>
      Promise.resolve(servedKeyHex(operator!) === hex('second-key')),
    );
  });
});

describe('one watch per collection', () => {
  const cluster = new Cluster();
  const auditLog = process.env[ENV.auditLog];
  let operator: KubeOperator | undefined;
  let username = '';
  let ns = '';
  let since = new Date();

  beforeAll(async () => {
    if (!auditLog) return;
    ns = await cluster.namespace('watches');
    const identity = await serviceAccountIdentity(adminKubeConfig(), { namespace: ns, name: 'gatehouse' });
    username = identity.username;
    since = new Date();
    await cluster.rest.create(`/api/v1/namespaces/${ns}/secrets`, keySecret(ns, 'watch-key'));
    // Its own namespace watched (the others are other tests'): the key and the reports are views.
    operator = await start(identity.kubeconfig, ns, ns);
  });

  afterAll(async () => {
    await operator?.stop();
    if (ns) await cluster.rest.delete(`/api/v1/namespaces/${ns}`);
  });

  it('the operator opens one WATCH per collection, every controller reading the shared caches', async (ctx) => {
    if (!auditLog || !operator) return ctx.skip(); // a KUBECONFIG cluster has no audit log for us to read
    // Every informer has listed and watched before startKubeOperator returns.
    const watchesOf = (records: AuditRecord[]) =>
      records
        .filter((r) => r.verb === 'watch')
        .map((r) => `${r.apiGroup}/${r.resource} ${r.namespace} ${query(r.uri)}`);
    let watches: string[] = [];
    await eventually('the watches are in the audit log', () => {
      watches = watchesOf(readAudit(auditLog, { username, since, stage: 'ResponseStarted' }));
      return Promise.resolve(watches.length >= operator!.informers.describe().informers.length);
    });
    const described = operator.informers.describe();
    await ctx.annotate(`${watches.length} watches: ${watches.sort().join('; ')}`);
    // One WATCH per informer the factory runs, none of the same collection twice.
    expect(watches.length).toBe(described.informers.length);
    expect(new Set(watches).size).toBe(watches.length);
    const ofResource = (resource: string) => watches.filter((w) => w.startsWith(`${resource} `));
    expect(ofResource('gatehouse.dev/dataplanes')).toHaveLength(1);
    expect(ofResource('/services')).toHaveLength(1);
    expect(ofResource('/nodes')).toHaveLength(1);
    expect(ofResource('/pods')).toHaveLength(1);
    expect(ofResource('policy/poddisruptionbudgets')).toHaveLength(1);
    expect(ofResource('autoscaling/horizontalpodautoscalers')).toHaveLength(1);
    // ConfigMaps by two disjoint selections: the operator's own (the node reports are a view of them)
    // and the tenants' resource ConfigMaps (docs/policies.md#resources-from-a-configmap). The
    // credential key is a view of the credential Secrets.
    expect(
      ofResource('/configmaps')
        .map((w) => w.split(' ').slice(2).join(' '))
        .sort(),
    ).toEqual(['labelSelector=app.kubernetes.io/managed-by=gatehouse', 'labelSelector=gatehouse.dev/resource=true']);
    expect(described.views.map((v) => v.name)).toEqual(
      expect.arrayContaining(['node-reports', 'credential-hash-key', 'certificates-envoy-services']),
    );
    expect(servedKeyHex(operator)).toBe(hex('watch-key'));
  });
});

/** The selectors of a watch request, decoded, in a fixed order. */
function query(uri: string): string {
  const params = new URL(uri, 'http://apiserver').searchParams;
  return ['labelSelector', 'fieldSelector']
    .map((k) => (params.get(k) ? `${k}=${params.get(k)}` : ''))
    .filter(Boolean)
    .join('&');
}
