// The last accepted revision lives in the cluster (status.lastAccepted), not in one replica's memory:
// make a proxy invalid, stop the operator, start two fresh replicas, and both serve the last accepted
// revision, the same snapshot, with the status still saying why (docs/architecture.md#the-operator).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { Cluster, conditionOf, eventually, hasConditions, operatorKubeConfig, type Obj } from './kube.ts';

const api = 'gatehouse.dev/v1alpha1';

async function replica(namespace: string, identity: string): Promise<KubeOperator> {
  return startKubeOperator({
    kc: operatorKubeConfig(),
    log: silentLog,
    namespace,
    watchNamespace: namespace,
    identity,
    host: '127.0.0.1',
    xdsPort: 0,
    debounceMs: 20,
    leaderElection: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250, releaseOnStop: true },
    dataPlane: {
      xds: { host: 'gatehouse-xds', port: 18000 },
      envoyImage: 'envoyproxy/envoy:test',
      gatehouseImage: 'gatehouse:test',
    },
  });
}

const servedBasePath = (o: KubeOperator, name: string) =>
  (o.snapshots.current()?.snapshot.runtime.proxies ?? []).find((p) => p.name === name)?.basePath;

const servedListenerPort = (o: KubeOperator) =>
  o.snapshots.current()?.snapshot.envoy.listeners.find((l) => l.name?.endsWith('/edge/http'))?.address?.socket_address
    ?.port_value;

describe('last accepted revisions across operator restarts', () => {
  const cluster = new Cluster();
  let ns = '';
  const running: KubeOperator[] = [];

  beforeAll(async () => {
    ns = await cluster.operatorNamespace('durable');
  });

  afterAll(async () => {
    for (const o of running) await o.stop();
  });

  it('two fresh replicas serve the last accepted generation of a proxy and a DataPlane that are invalid now', async () => {
    const first = await replica(ns, 'first');
    running.push(first);
    await eventually('first leads', () => first.isLeader());
    const proxy = (basePath: string, condition?: string): Obj => ({
      apiVersion: api,
      kind: 'ApiProxy',
      metadata: { name: 'ledger', namespace: ns },
      spec: {
        basePath,
        target: { url: 'http://127.0.0.1:9095' },
        ...(condition ? { flows: { conditionalFlows: [{ name: 'x', condition, request: [] }] } } : {}),
      },
    });
    const dataPlane = (port: number, redisUrl?: string): Obj => ({
      apiVersion: api,
      kind: 'DataPlane',
      metadata: { name: 'edge', namespace: ns },
      spec: { listeners: [{ name: 'http', port }], ...(redisUrl ? { redis: { url: redisUrl } } : {}) },
    });
    await cluster.apply(dataPlane(8080));
    await cluster.apply(proxy('/ledger'));
    const recorded = async (kind: string, name: string) =>
      ((await cluster.get(kind, ns, name))?.status?.lastAccepted as { generation?: number } | undefined)?.generation;
    await eventually('generation 1 accepted and recorded in the cluster', async () => {
      const o = await cluster.get('ApiProxy', ns, 'ledger');
      return hasConditions(o, { Accepted: 'True' }) && (await recorded('ApiProxy', 'ledger')) === 1;
    });
    await eventually("the DataPlane's generation 1 recorded", async () => (await recorded('DataPlane', 'edge')) === 1);
    // Both pass the CRD and fail the compiler.
    await cluster.apply(proxy('/ledger/v2', 'request.verb = '));
    await cluster.apply(dataPlane(9090, 'redis://:a-password@redis:6379'));
    await eventually('generation 2 rejected, generation 1 serving', async () => {
      const o = await cluster.get('ApiProxy', ns, 'ledger');
      return o?.metadata.generation === 2 && hasConditions(o, { Accepted: 'False', Programmed: 'True' });
    });
    expect(servedBasePath(first, 'ledger')).toBe('/ledger');
    await eventually('DataPlane generation 2 rejected', async () => {
      const o = await cluster.get('DataPlane', ns, 'edge');
      return o?.metadata.generation === 2 && hasConditions(o, { Accepted: 'False' });
    });
    expect(servedListenerPort(first)).toBe(8080);
    await first.stop();
    running.splice(running.indexOf(first), 1);

    const [a, b] = await Promise.all([replica(ns, 'second-a'), replica(ns, 'second-b')]);
    running.push(a, b);
    await eventually('both replicas compiled', () => a.snapshots.current() && b.snapshots.current());
    expect(servedBasePath(a, 'ledger')).toBe('/ledger');
    expect(servedBasePath(b, 'ledger')).toBe('/ledger');
    expect(a.snapshots.current()!.version).toBe(b.snapshots.current()!.version);
    // The DataPlane's last accepted listeners too, from its status.lastAccepted.
    expect(servedListenerPort(a)).toBe(8080);
    expect(servedListenerPort(b)).toBe(8080);
    await eventually('one of them leads', () => a.isLeader() || b.isLeader());
    const o = await cluster.get('ApiProxy', ns, 'ledger');
    expect(conditionOf(o, 'Programmed')).toMatchObject({ status: 'True', reason: 'ServingPreviousGeneration' });
    expect(conditionOf(o, 'Accepted')?.message).toMatch(/generation 1, the last accepted one, keeps serving$/);
  });
});
