// The operator against a real kube-apiserver, as the chart's restricted identity: every kind's create,
// update and delete reaches the served snapshot and the status; an object that passes the CRD's CEL but
// fails compile is reported and its last accepted generation keeps serving; two replicas elect one
// writer, and when it dies the other takes over without losing or repeating a status write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { typeUrls } from '../../operator/src/xds/protos.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import type { StatusTarget } from '../../operator/src/kube/status-writer.ts';
import { ackingNode, Cluster, conditionOf, eventually, hasConditions, operatorKubeConfig, type Obj } from './kube.ts';

const api = 'gatehouse.dev/v1alpha1';
const obj = (
  kind: string,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  extra: Partial<Obj> = {},
): Obj => ({ apiVersion: api, kind, metadata: { name, namespace }, spec, ...extra });

interface Replica {
  operator: KubeOperator;
  writes: string[];
}

async function startReplica(namespace: string, identity: string, crash = false): Promise<Replica> {
  const writes: string[] = [];
  const operator = await startKubeOperator({
    kc: operatorKubeConfig(),
    log: silentLog,
    namespace,
    watchNamespace: namespace,
    identity,
    host: '127.0.0.1',
    xdsPort: 0,
    debounceMs: 20,
    // Short timings so that a takeover takes seconds; the semantics are those of the defaults.
    leaderElection: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250, releaseOnStop: !crash },
    nodeReports: { heartbeatMs: 500, debounceMs: 50, staleAfterMs: 3_000 },
    onStatusWrite: (t: StatusTarget) => writes.push(`${t.kind}/${t.metadata.name}`),
    dataPlane: {
      xds: { host: 'gatehouse-xds', port: 18000 },
      envoyImage: 'envoyproxy/envoy:test',
      gatehouseImage: 'gatehouse:test',
    },
  });
  return { operator, writes };
}

const runtimeOf = (r: Replica) =>
  r.operator.snapshots.current()?.snapshot.runtime as
    | {
        proxies: { name: string; basePath: string }[];
        products: { name: string }[];
        apps: { name: string }[];
        dataPlanes: { name: string }[];
      }
    | undefined;
const names = (list: { name: string }[] | undefined) => (list ?? []).map((x) => x.name).sort();

describe('operator in a cluster', () => {
  const cluster = new Cluster();
  let ns = '';
  let a: Replica;
  let b: Replica | undefined;
  const nodes: { close(): void }[] = [];

  beforeAll(async () => {
    ns = await cluster.operatorNamespace('op');
    a = await startReplica(ns, 'op-a', true);
    await eventually('op-a leads', () => a.operator.isLeader());
  });

  afterAll(async () => {
    for (const n of nodes) n.close();
    await b?.operator.stop();
    await a?.operator.stop();
  });

  it('create, update and delete of each kind reach the snapshot and the status', async () => {
    const node = ackingNode(`127.0.0.1:${a.operator.xdsPort}`, 'extproc-0', `${ns}/edge/extproc`);
    nodes.push(node);
    await cluster.apply(
      obj('ApiPolicy', ns, 'tag', { type: 'AssignMessage', assignMessage: { set: { headers: { 'x-tag': 'one' } } } }),
    );
    await cluster.apply(
      obj('ApiProxy', ns, 'orders', {
        basePath: '/orders',
        target: { url: 'http://127.0.0.1:9090' },
        flows: { preFlow: { request: [{ policy: 'tag' }] } },
      }),
    );
    await cluster.apply(
      obj('ApiProduct', ns, 'gold', { displayName: 'Gold', proxies: ['orders'], resources: ['/**'] }),
    );
    await cluster.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'acme-key', namespace: ns, labels: { 'gatehouse.dev/credential': 'true' } },
      stringData: { consumerKey: 'k-123', consumerSecret: 's-456' },
    });
    await cluster.apply(
      obj('DeveloperApp', ns, 'acme', {
        developer: { email: 'dev@acme.test', name: 'Dev' },
        products: [{ name: 'gold', status: 'Approved' }],
        credentials: [{ secretRef: { name: 'acme-key' }, status: 'Approved' }],
      }),
    );
    await cluster.apply(obj('DataPlane', ns, 'edge', { listeners: [{ name: 'http', port: 8080 }] }));

    await eventually('all four kinds in the snapshot', () => {
      const rt = runtimeOf(a);
      return (
        rt &&
        names(rt.proxies).includes('orders') &&
        names(rt.products).includes('gold') &&
        names(rt.apps).includes('acme') &&
        names(rt.dataPlanes).includes('edge')
      );
    });
    for (const [kind, name] of [
      ['ApiPolicy', 'tag'],
      ['ApiProduct', 'gold'],
      ['DeveloperApp', 'acme'],
    ] as const) {
      await eventually(`${kind} ${name} Ready`, async () =>
        hasConditions(await cluster.get(kind, ns, name), {
          Accepted: 'True',
          ResolvedRefs: 'True',
          Programmed: 'True',
          Ready: 'True',
        }),
      );
    }
    const proxy = await eventually('ApiProxy Ready with the node synced', async () => {
      const o = await cluster.get('ApiProxy', ns, 'orders');
      return (
        hasConditions(o, { Accepted: 'True', Programmed: 'True', Ready: 'True' }) &&
        o?.status?.dataPlanesSynced === '1/1' &&
        o
      );
    });
    expect(proxy.status?.dataPlanes).toEqual([expect.objectContaining({ name: 'extproc-0', synced: true })]);
    expect(node.version).toBe(a.operator.snapshots.current()!.version);
    // The caches keep no managedFields (most of a small object's size).
    expect(a.operator.source.get('ApiProxy', ns, 'orders')?.metadata?.managedFields).toBeUndefined();
    expect((await cluster.get('ApiProxy', ns, 'orders'))?.metadata).toHaveProperty('managedFields');
    // The credential never leaves the control plane in clear.
    expect(JSON.stringify(runtimeOf(a))).not.toContain('k-123');

    // Update: a new generation reaches the snapshot, the node, and the status.
    await cluster.apply(
      obj('ApiProxy', ns, 'orders', {
        basePath: '/orders/v2',
        target: { url: 'http://127.0.0.1:9090' },
        flows: { preFlow: { request: [{ policy: 'tag' }] } },
      }),
    );
    await eventually(
      'new base path served',
      () => runtimeOf(a)?.proxies.find((p) => p.name === 'orders')?.basePath === '/orders/v2',
    );
    const updated = await eventually('generation 2 Ready and synced', async () => {
      const o = await cluster.get('ApiProxy', ns, 'orders');
      return (
        o?.metadata.generation === 2 && hasConditions(o, { Ready: 'True' }) && o.status?.dataPlanesSynced === '1/1' && o
      );
    });
    const revision = a.operator.snapshots.current()!.revisions.get(`${ns}/orders`)!;
    expect(conditionOf(updated, 'Programmed')?.message).toBe(`generation 2 is in revision ${revision}`);
    expect(updated.status?.dataPlanes).toEqual([
      expect.objectContaining({ name: 'extproc-0', version: revision, synced: true }),
    ]);

    // An HTTPS listener with issue: true: the operator issues its certificate into a Secret and
    // serves it over SDS (named only, never in the snapshot).
    await cluster.apply(
      obj('DataPlane', ns, 'edge', {
        listeners: [
          { name: 'http', port: 8080 },
          { name: 'public', port: 8443, protocol: 'HTTPS', tls: { issue: true } },
        ],
      }),
    );
    const sdsName = `tls:${ns}/edge-listener-public-tls`;
    await eventually('the issued listener certificate is served over SDS', () =>
      a.operator.controlPlane.cache.current()?.views.get(`${ns}/edge`)?.resources.get(typeUrls.secret)?.has(sdsName),
    );
    const issued = await cluster.get('Secret', ns, 'edge-listener-public-tls');
    expect(issued?.type).toBe('kubernetes.io/tls');
    expect(Object.keys((issued as unknown as { data: Record<string, string> }).data).sort()).toEqual([
      'tls.crt',
      'tls.key',
    ]);
    expect(JSON.stringify(a.operator.snapshots.current()!.snapshot)).not.toContain('PRIVATE KEY');

    // Delete: the product goes, and the app that needed it says why.
    await cluster.remove('ApiProduct', ns, 'gold');
    await eventually('product gone from the snapshot', () => !names(runtimeOf(a)?.products).includes('gold'));
    const app = await eventually('DeveloperApp reports the missing product', async () => {
      const o = await cluster.get('DeveloperApp', ns, 'acme');
      return conditionOf(o, 'ResolvedRefs')?.status === 'False' && o;
    });
    expect(conditionOf(app, 'ResolvedRefs')?.message).toMatch(/spec\.products\[0\]\.name: .*gold/);
    expect(conditionOf(app, 'Accepted')).toMatchObject({ status: 'False', reason: 'UnresolvedRefs' });
    await cluster.remove('ApiProxy', ns, 'orders');
    await eventually('proxy gone from the snapshot', () => !names(runtimeOf(a)?.proxies).includes('orders'));
    await cluster.remove('DataPlane', ns, 'edge');
    await eventually('dataplane gone from the snapshot', () => !names(runtimeOf(a)?.dataPlanes).includes('edge'));
    node.close();
  });

  it('an object that passes CEL but fails compile is reported; its last accepted generation keeps serving; others are unaffected', async () => {
    const spec = (condition?: string) => ({
      basePath: '/catalog',
      target: { url: 'http://127.0.0.1:9091' },
      ...(condition ? { flows: { conditionalFlows: [{ name: 'items', condition, request: [] }] } } : {}),
    });
    await cluster.apply(obj('ApiProxy', ns, 'catalog', spec()));
    await cluster.apply(obj('ApiProxy', ns, 'stock', { basePath: '/stock', target: { url: 'http://127.0.0.1:9092' } }));
    await eventually('catalog generation 1 Ready', async () =>
      hasConditions(await cluster.get('ApiProxy', ns, 'catalog'), { Accepted: 'True', Programmed: 'True' }),
    );

    // Accepted by the apiserver (a condition is a string to the schema), rejected by the compiler.
    await cluster.apply(obj('ApiProxy', ns, 'catalog', { ...spec('request.verb = '), basePath: '/catalog/v2' }));
    const broken = await eventually('catalog generation 2 not accepted', async () => {
      const o = await cluster.get('ApiProxy', ns, 'catalog');
      return o?.metadata.generation === 2 && hasConditions(o, { Accepted: 'False' }) && o;
    });
    expect(conditionOf(broken, 'Accepted')?.message).toMatch(
      /^spec\.flows\.conditionalFlows\[0\]\.condition: .*generation 1, the last accepted one, keeps serving$/,
    );
    expect(conditionOf(broken, 'Programmed')).toMatchObject({ status: 'True', reason: 'ServingPreviousGeneration' });
    expect(conditionOf(broken, 'Ready')?.status).toBe('False');
    expect(runtimeOf(a)?.proxies.find((p) => p.name === 'catalog')?.basePath).toBe('/catalog');
    expect(hasConditions(await cluster.get('ApiProxy', ns, 'stock'), { Accepted: 'True', Programmed: 'True' })).toBe(
      true,
    );
    // No data-plane node is connected at this point: programmed, but not Ready, and it says why.
    expect(conditionOf(await cluster.get('ApiProxy', ns, 'stock'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'NoDataPlaneConnected',
    });
    expect(runtimeOf(a)?.proxies.find((p) => p.name === 'stock')?.basePath).toBe('/stock');

    // Fixed: the new generation serves and the status says so.
    await cluster.apply(obj('ApiProxy', ns, 'catalog', { ...spec(), basePath: '/catalog/v3' }));
    await eventually('catalog generation 3 serves', async () => {
      const o = await cluster.get('ApiProxy', ns, 'catalog');
      return (
        o?.metadata.generation === 3 &&
        hasConditions(o, { Accepted: 'True', Programmed: 'True' }) &&
        runtimeOf(a)?.proxies.find((p) => p.name === 'catalog')?.basePath === '/catalog/v3'
      );
    });
  });

  it('a newer ApiProxy never takes an accepted route, even first by name and with a more specific host (docs/tenancy.md)', async () => {
    await cluster.apply(
      obj('ApiProxy', ns, 'zz-ledger', { basePath: '/ledger', target: { url: 'http://127.0.0.1:9093' } }),
    );
    await eventually('zz-ledger Ready', async () =>
      hasConditions(await cluster.get('ApiProxy', ns, 'zz-ledger'), { Accepted: 'True', Programmed: 'True' }),
    );
    await cluster.apply(
      obj('ApiProxy', ns, 'aa-ledger', {
        basePath: '/ledger',
        hosts: ['bank.example'],
        target: { url: 'http://127.0.0.1:9094' },
      }),
    );
    const loser = await eventually('aa-ledger Conflicted', async () => {
      const o = await cluster.get('ApiProxy', ns, 'aa-ledger');
      return hasConditions(o, { Accepted: 'False' }) && o;
    });
    expect(conditionOf(loser, 'Accepted')).toMatchObject({ reason: 'Conflicted' });
    expect(conditionOf(loser, 'Stalled')).toMatchObject({ status: 'True', reason: 'Conflicted' });
    expect(conditionOf(loser, 'Accepted')?.message).toContain(`ApiProxy ${ns}/zz-ledger`);
    expect(hasConditions(await cluster.get('ApiProxy', ns, 'zz-ledger'), { Accepted: 'True' })).toBe(true);
    expect(
      runtimeOf(a)
        ?.proxies.filter((p) => p.basePath === '/ledger')
        .map((p) => p.name),
    ).toEqual(['zz-ledger']);
  });

  it('a referenced Secret without the credential label: the status says exactly that, not "not found"', async () => {
    await cluster.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'vault-ca', namespace: ns },
      stringData: { 'ca.crt': 'not read' },
    });
    await cluster.apply(
      obj('ApiProxy', ns, 'vault', {
        basePath: '/vault',
        target: { url: 'https://127.0.0.1:9443', tls: { caSecretRef: { name: 'vault-ca' } } },
      }),
    );
    const proxy = await eventually('vault ResolvedRefs False naming the missing label', async () => {
      const o = await cluster.get('ApiProxy', ns, 'vault');
      return conditionOf(o, 'ResolvedRefs')?.message.includes('lacks the label') && o;
    });
    expect(conditionOf(proxy, 'ResolvedRefs')?.message).toContain(
      'Secret "vault-ca" exists but lacks the label gatehouse.dev/credential=true',
    );
    // A Secret that does not exist at all is still "not found".
    await cluster.apply(
      obj('ApiProxy', ns, 'vault', {
        basePath: '/vault',
        target: { url: 'https://127.0.0.1:9443', tls: { caSecretRef: { name: 'no-such-ca' } } },
      }),
    );
    await eventually('no-such-ca not found', async () => {
      const o = await cluster.get('ApiProxy', ns, 'vault');
      return o?.metadata.generation === 2 && conditionOf(o, 'ResolvedRefs')?.message.includes('"no-such-ca" not found');
    });
  });

  it('two replicas: one writes; when it dies the other takes over its Lease, losing and repeating no status write', async () => {
    b = await startReplica(ns, 'op-b');
    // The node talks to the replica that is not the leader: the leader reports on it all the same.
    // No DataPlane exists any more (edge was removed above): a node naming none gets the only view,
    // the built-in DataPlane's (a node naming the removed edge would get nothing).
    const node = ackingNode(`127.0.0.1:${b.operator.xdsPort}`, 'envoy-b-0', 'hand-started-envoy');
    nodes.push(node);
    await cluster.apply(
      obj('ApiPolicy', ns, 'before', { type: 'AssignMessage', assignMessage: { set: { headers: { 'x-a': '1' } } } }),
    );
    await eventually('stock reports exactly the node behind op-b', async () => {
      const o = await cluster.get('ApiProxy', ns, 'stock');
      const dataPlanes = o?.status?.dataPlanes as { name: string; synced: boolean }[] | undefined;
      return dataPlanes?.length === 1 && dataPlanes[0]!.name === 'envoy-b-0' && dataPlanes[0]!.synced;
    });
    await eventually('ApiPolicy before Ready', async () =>
      hasConditions(await cluster.get('ApiPolicy', ns, 'before'), { Ready: 'True' }),
    );
    await new Promise((r) => setTimeout(r, 1_000)); // let the leader finish what it is writing
    expect(a.operator.isLeader()).toBe(true);
    expect(b.operator.isLeader()).toBe(false);
    expect(b.writes).toEqual([]);

    // op-a dies without releasing the Lease; an ApiPolicy appears while nobody leads.
    const held = await cluster.get('Lease', ns, 'gatehouse-operator');
    expect(held?.spec?.holderIdentity).toBe('op-a');
    await a.operator.stop();
    await cluster.apply(
      obj('ApiPolicy', ns, 'during', { type: 'AssignMessage', assignMessage: { set: { headers: { 'x-b': '1' } } } }),
    );
    // Once op-a's term has run out (3 s unrenewed: the timing itself is leader-election.int.test.ts's),
    // op-b takes the Lease over. The deadline only bounds the wait: a loaded machine takes longer.
    await eventually('op-b leads', () => b!.operator.isLeader(), 60_000);
    const taken = await cluster.get('Lease', ns, 'gatehouse-operator');
    expect(taken?.spec).toMatchObject({
      holderIdentity: 'op-b',
      leaseTransitions: Number(held?.spec?.leaseTransitions ?? 0) + 1,
    });
    await eventually('the ApiPolicy created during the gap gets its status', async () =>
      hasConditions(await cluster.get('ApiPolicy', ns, 'during'), { Accepted: 'True', Ready: 'True' }),
    );
    await new Promise((r) => setTimeout(r, 1_500));
    // Everything that was already right stays unwritten: exactly the one new object is written, once.
    expect(b.writes).toEqual(['ApiPolicy/during']);
  });
});
