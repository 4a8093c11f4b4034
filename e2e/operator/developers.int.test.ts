// Developers against a real kube-apiserver, as the chart's restricted identity: a Developer gets status;
// its app resolves it; an inactive Developer, and then a deleted one, make the app's key fail with
// keymanagement.service.DeveloperStatusNotActive in the snapshot the operator serves, while the app
// keeps its key (ResolvedRefs=False, not Ready) until the Developer is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyFault } from '../../extproc/src/flow/faults.ts';
import { makePolicyContext } from '../../extproc/src/flow/policy-context.test-support.ts';
import { verifyApiKeyPolicy } from '../../extproc/src/policies/security/verify-api-key.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import type { RuntimeSnapshotInput } from '../../extproc/src/config/decode.ts';
import { Cluster, conditionOf, eventually, hasConditions, operatorKubeConfig, type Obj } from './kube.ts';

const api = 'gatehouse.dev/v1alpha1';
const obj = (kind: string, namespace: string, name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: api,
  kind,
  metadata: { name, namespace },
  spec,
});

/** What VerifyAPIKey answers for key k-ada on proxy orders with the snapshot the operator serves now. */
async function verify(operator: KubeOperator, ns: string): Promise<string> {
  const {
    proxies: _proxies,
    version: _version,
    ...runtime
  } = operator.snapshots.current()!.snapshot.runtime as RuntimeSnapshotInput & { proxies?: unknown; version?: string };
  const ctx = makePolicyContext({
    proxy: { namespace: ns, name: 'orders', route: `${ns}/orders`, basePath: '/orders' },
    path: '/orders/1',
    headers: { 'x-api-key': 'k-ada' },
    snapshot: runtime,
  });
  const step = verifyApiKeyPolicy.create({ apiKey: { ref: 'request.header.x-api-key' } }, { namespace: ns, name: 'v' });
  try {
    await step(ctx);
    return 'ok';
  } catch (err) {
    if (err instanceof PolicyFault) return err.errorCode;
    throw err;
  }
}

describe('Developer in a cluster', () => {
  const cluster = new Cluster();
  let ns = '';
  let operator: KubeOperator;

  beforeAll(async () => {
    ns = await cluster.operatorNamespace('devs');
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: silentLog,
      namespace: ns,
      watchNamespace: ns,
      identity: 'devs-0',
      host: '127.0.0.1',
      xdsPort: 0,
      debounceMs: 20,
      dataPlane: {
        xds: { host: 'gatehouse-xds', port: 18000 },
        envoyImage: 'envoyproxy/envoy:test',
        gatehouseImage: 'gatehouse:test',
      },
    });
    await eventually('the operator leads', () => operator.isLeader());
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it("gets status; inactive or deleted, its apps' keys fail with DeveloperStatusNotActive", async () => {
    await cluster.apply(
      obj('ApiProxy', ns, 'orders', { basePath: '/orders', target: { url: 'http://127.0.0.1:9090' } }),
    );
    await cluster.apply(obj('ApiProduct', ns, 'gold', { proxies: ['orders'] }));
    await cluster.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'ada-key', namespace: ns, labels: { 'gatehouse.dev/credential': 'true' } },
      stringData: { consumerKey: 'k-ada' },
    });
    await cluster.apply(
      obj('DeveloperApp', ns, 'ada-app', {
        developerRef: { name: 'ada' },
        products: [{ name: 'gold' }],
        credentials: [{ secretRef: { name: 'ada-key' } }],
      }),
    );
    // Applied before its Developer (GitOps order is any order): served, holding its key, not Ready.
    const waiting = await eventually('the app reports its missing Developer', async () => {
      const o = await cluster.get('DeveloperApp', ns, 'ada-app');
      return conditionOf(o, 'ResolvedRefs')?.status === 'False' && o;
    });
    expect(conditionOf(waiting, 'ResolvedRefs')).toMatchObject({ reason: 'RefNotFound' });
    expect(conditionOf(waiting, 'ResolvedRefs')?.message).toMatch(
      /spec\.developerRef\.name: Developer "ada" not found/,
    );
    expect(conditionOf(waiting, 'Accepted')?.status).toBe('True');
    expect(conditionOf(waiting, 'Ready')).toMatchObject({ status: 'False', reason: 'RefNotFound' });
    expect(await verify(operator, ns)).toBe('keymanagement.service.DeveloperStatusNotActive');

    await cluster.apply(obj('Developer', ns, 'ada', { email: 'ada@example.com', firstName: 'Ada' }));
    await eventually('the Developer is Ready', async () =>
      hasConditions(await cluster.get('Developer', ns, 'ada'), { Accepted: 'True', Programmed: 'True', Ready: 'True' }),
    );
    await eventually('the app is Ready', async () =>
      hasConditions(await cluster.get('DeveloperApp', ns, 'ada-app'), { ResolvedRefs: 'True', Ready: 'True' }),
    );
    await eventually('the key verifies', async () => (await verify(operator, ns)) === 'ok');

    await cluster.apply(
      obj('Developer', ns, 'ada', { email: 'ada@example.com', firstName: 'Ada', status: 'inactive' }),
    );
    await eventually(
      'an inactive developer: DeveloperStatusNotActive',
      async () => (await verify(operator, ns)) === 'keymanagement.service.DeveloperStatusNotActive',
    );

    await cluster.apply(obj('Developer', ns, 'ada', { email: 'ada@example.com', firstName: 'Ada', status: 'active' }));
    await eventually('active again: the key verifies', async () => (await verify(operator, ns)) === 'ok');

    await cluster.remove('Developer', ns, 'ada');
    await eventually(
      'a deleted developer: DeveloperStatusNotActive',
      async () => (await verify(operator, ns)) === 'keymanagement.service.DeveloperStatusNotActive',
    );
    await eventually('the app says why', async () =>
      hasConditions(await cluster.get('DeveloperApp', ns, 'ada-app'), { Accepted: 'True', ResolvedRefs: 'False' }),
    );

    // The CRD's CEL refuses an app with both an inline developer and a developerRef.
    await expect(
      cluster.apply(
        obj('DeveloperApp', ns, 'both', {
          developer: { email: 'x@example.com' },
          developerRef: { name: 'ada' },
          products: [{ name: 'gold' }],
        }),
      ),
    ).rejects.toThrow(/exactly one of developer and developerRef/);
  });
});
