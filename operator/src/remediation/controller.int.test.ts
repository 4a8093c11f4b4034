// The remediation controller against a real kube-apiserver, running as the restricted operator identity
// (the chart's ClusterRole). No kubelet, scheduler or controller-manager runs: the admin creates Nodes,
// Pods (bound with spec.nodeName), PDBs and HPAs and writes their status itself, PDB status included
// (the Eviction API reads disruptionsAllowed and requires status.observedGeneration >= generation).
// The deep check talks real gRPC to real extproc servers on loopback: one serving, one without a
// snapshot (health NOT_SERVING), each at the address its pod's status.podIP names; and Envoy's to
// devproxy's admin /ready (the Envoy stand-in), one initialised (200 LIVE), one not (503).
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/log.ts';
import { eventually as waitFor } from '../../../e2e/env/eventually.ts';
import { adminKubeConfig, operatorKubeConfig } from '../../../e2e/env/kubeconfig.ts';
import { SnapshotStore } from '../../../extproc/src/config/snapshot-store.ts';
import { testCatalog, testSnapshot } from '../../../extproc/src/server/fixtures.test-support.ts';
import { createExtprocServer, type ExtprocServer } from '../../../extproc/src/server/server.ts';
import { startTestServer, type TestServer } from '../../../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../../../extproc/src/stores/memory.ts';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminServer, DevproxyMetrics } from '../../../devproxy/src/admin.ts';
import { EventRecorder } from '../kube/events.ts';
import { KubeRest, resourcePath } from '../kube/rest.ts';
import { StatusWriter } from '../kube/status-writer.ts';
import { RemediationController, type RemediationControllerOptions } from './controller.ts';
import { componentLabels } from '../api/names.ts';

type Condition = { type: string; status: string; reason: string; message: string; lastTransitionTime: string };
type Remediation = { time: string; pod: string; reason: string; action: string };
/** The fields of the pods, PodDisruptionBudgets and DataPlanes this test reads. */
type Live = {
  metadata: { name: string; uid: string; deletionTimestamp?: string; generation?: number };
  spec?: unknown;
  status?: { conditions?: Condition[]; remediations?: Remediation[]; disruptionsAllowed?: number };
};
type EventObj = {
  reason: string;
  note?: string;
  type: string;
  regarding: { kind: string; name: string };
  related?: { name: string };
  series?: { count: number };
};

const admin = new KubeRest(adminKubeConfig());
const operatorKc = operatorKubeConfig();
const operator = new KubeRest(operatorKc);
const log = createLogger('remediation-test', process.env.GATEHOUSE_LOG_LEVEL ?? 'error');
const suffix = randomBytes(4).toString('hex');
const ns = `rem-${suffix}`;
const nodeNames = { ready: `ready-${suffix}`, lost: `lost-${suffix}`, shutDown: `shutdown-${suffix}` };

const podPath = (name?: string, subresource?: string) =>
  resourcePath({ version: 'v1', resource: 'pods', namespace: ns, name, subresource });
const dpPath = (name?: string) =>
  resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace: ns, name });
const nodePath = (name: string, subresource?: string) =>
  resourcePath({ version: 'v1', resource: 'nodes', name, subresource });
const pdbPath = (name?: string, subresource?: string) =>
  resourcePath({ group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace: ns, name, subresource });
const hpaPath = (name?: string, subresource?: string) =>
  resourcePath({
    group: 'autoscaling',
    version: 'v2',
    resource: 'horizontalpodautoscalers',
    namespace: ns,
    name,
    subresource,
  });
const iso = (msAgo = 0) => new Date(Date.now() - msAgo).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function createNode(name: string, ready: boolean, notReadyForMs = 0, outOfService = false): Promise<void> {
  await admin.create('/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: outOfService
      ? { taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] }
      : {},
  });
  await admin.mergePatch(nodePath(name, 'status'), {
    status: {
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'Unknown',
          reason: ready ? 'KubeletReady' : 'NodeStatusUnknown',
          message: 'written by the test',
          lastHeartbeatTime: iso(),
          lastTransitionTime: iso(notReadyForMs),
        },
      ],
    },
  });
}

async function createDataPlane(name: string, remediation: Record<string, unknown>): Promise<void> {
  await admin.create(dpPath(), {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { name, namespace: ns },
    spec: { remediation },
  });
}

interface PodShape {
  dataPlane: string;
  component: 'envoy' | 'extproc';
  node?: string;
  ready?: boolean;
  notReadyForMs?: number;
  restarts?: number;
  podIP?: string;
  pending?: { reason: string; message: string };
  /** Scheduled this long ago, no container started yet (ContainerCreating). */
  creatingForMs?: number;
}

/** A pod as a Deployment of the DataPlane would have it, with the status a kubelet (or scheduler) would write. */
async function createPod(name: string, shape: PodShape): Promise<Live> {
  const image = shape.component === 'envoy' ? 'envoyproxy/envoy:test' : 'gatehouse:test';
  await admin.create(podPath(), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: componentLabels(shape.dataPlane, shape.component) },
    spec: {
      ...(shape.pending ? {} : { nodeName: shape.node ?? nodeNames.ready }),
      containers: [{ name: shape.component, image }],
    },
  });
  const status =
    shape.creatingForMs !== undefined
      ? {
          phase: 'Pending',
          hostIP: '10.0.0.1',
          conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: iso(shape.creatingForMs) }],
          containerStatuses: [
            {
              name: shape.component,
              image,
              imageID: '',
              ready: false,
              restartCount: 0,
              started: false,
              state: { waiting: { reason: 'ContainerCreating' } },
            },
          ],
        }
      : shape.pending
        ? {
            phase: 'Pending',
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                reason: shape.pending.reason,
                message: shape.pending.message,
                lastTransitionTime: iso(),
              },
            ],
          }
        : {
            phase: 'Running',
            startTime: iso(3_600_000),
            hostIP: '10.0.0.1',
            ...(shape.podIP ? { podIP: shape.podIP, podIPs: [{ ip: shape.podIP }] } : {}),
            conditions: [
              { type: 'PodScheduled', status: 'True', lastTransitionTime: iso(3_600_000) },
              {
                type: 'Ready',
                status: shape.ready === false ? 'False' : 'True',
                lastTransitionTime: iso(shape.notReadyForMs ?? 3_600_000),
              },
            ],
            containerStatuses: [
              {
                name: shape.component,
                image,
                imageID: '',
                ready: shape.ready !== false,
                restartCount: shape.restarts ?? 0,
                started: true,
                state: { running: { startedAt: iso() } },
                ...(shape.restarts
                  ? {
                      lastState: {
                        terminated: { exitCode: 1, reason: 'Error', startedAt: iso(30_000), finishedAt: iso() },
                      },
                    }
                  : {}),
              },
            ],
          };
  return admin.mergePatch<Live>(podPath(name, 'status'), { status });
}

async function createPdb(
  name: string,
  dataPlane: string,
  component: 'envoy' | 'extproc',
  disruptionsAllowed: number,
): Promise<void> {
  const created = await admin.create<Live>(pdbPath(), {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: ns },
    spec: {
      minAvailable: 2,
      selector: {
        matchLabels: {
          'app.kubernetes.io/name': component,
          'app.kubernetes.io/instance': dataPlane,
          'app.kubernetes.io/component': component,
        },
      },
    },
  });
  await setPdbStatus(name, created.metadata.generation ?? 1, disruptionsAllowed);
}

/** What the disruption controller would write; observedGeneration must catch up or every eviction is refused. */
async function setPdbStatus(name: string, generation: number, disruptionsAllowed: number): Promise<void> {
  await admin.mergePatch(pdbPath(name, 'status'), {
    status: {
      observedGeneration: generation,
      disruptionsAllowed,
      currentHealthy: 2,
      desiredHealthy: 2 - disruptionsAllowed,
      expectedPods: 2,
    },
  });
}

/** What the kubelet (FailedMount) or the attach/detach controller (FailedAttachVolume) writes about a pod. */
async function volumeEvent(pod: Live, reason: 'FailedMount' | 'FailedAttachVolume', message: string): Promise<void> {
  await admin.create(`/api/v1/namespaces/${ns}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${pod.metadata.name}.${randomBytes(4).toString('hex')}`, namespace: ns },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, namespace: ns, uid: pod.metadata.uid },
    reason,
    message,
    type: 'Warning',
    source: { component: reason === 'FailedMount' ? 'kubelet' : 'attachdetach-controller' },
    firstTimestamp: iso(60_000),
    lastTimestamp: iso(),
    count: 3,
  });
}

const getPod = (name: string) => admin.get<Live>(podPath(name));
const getDataPlane = (name: string) => admin.get<Live>(dpPath(name));
const condition = (dp: Live, type: string) => dp.status?.conditions?.find((c) => c.type === type);
const remediations = async (dp: string) => (await getDataPlane(dp)).status?.remediations ?? [];
const events = async (pod: string) =>
  (
    await admin.list<EventObj>(
      resourcePath({ group: 'events.k8s.io', version: 'v1', resource: 'events', namespace: ns }),
    )
  ).items.filter((e) => e.regarding.kind === 'Pod' && e.regarding.name === pod);
const eventFor = (pod: string, reason: string) =>
  waitFor(`a ${reason} event on ${pod}`, async () => (await events(pod)).find((e) => e.reason === reason));
const isGone = async (name: string) =>
  getPod(name).then(
    () => false,
    (err: { status?: number }) => err.status === 404,
  );

let healthy: TestServer;
let sick: ExtprocServer;
/** devproxy admin endpoints as two Envoy pods: .1 initialised, .2 not; one port on both addresses. */
const envoyAdmins: Server[] = [];
let envoyReadyPort = 0;
let controller: RemediationController;
let events_: EventRecorder;

function controllerOptions(overrides: Partial<RemediationControllerOptions> = {}): RemediationControllerOptions {
  events_ = new EventRecorder({
    rest: operator,
    controller: 'gatehouse.dev/operator',
    instance: 'remediation-test',
    log,
  });
  return {
    rest: operator,
    kc: operatorKc,
    log,
    namespace: ns,
    isLeader: () => true,
    registry: new Registry(),
    writer: new StatusWriter({ rest: operator, log, events: events_ }),
    events: events_,
    remediation: { deepCheckFailures: 2 },
    deepCheck: {
      port: Number(healthy.address.split(':')[1]),
      intervalMs: 300,
      timeoutMs: 1000,
      envoy: { readyPort: envoyReadyPort },
    },
    flapping: { maxChanges: 3, windowMs: 5000 },
    refusalBackoff: { initialMs: 500, maxMs: 2000 },
    ...overrides,
  };
}

/** A new operator process: nothing in memory. */
async function restartController(overrides: Partial<RemediationControllerOptions> = {}): Promise<void> {
  await controller.stop();
  await events_.flush();
  controller = new RemediationController(controllerOptions(overrides));
  await controller.start();
}

describe('RemediationController', () => {
  beforeAll(async () => {
    await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await createNode(nodeNames.ready, true);
    await createNode(nodeNames.lost, false, 10 * 60_000);
    // Shut down a moment ago, and an admin has said so with the out-of-service taint.
    await createNode(nodeNames.shutDown, false, 10_000, true);
    // The same port on two loopback addresses: a serving extproc on .1, one without a snapshot on .2.
    healthy = await startTestServer({ snapshot: testSnapshot(), catalog: testCatalog });
    sick = createExtprocServer({
      snapshots: new SnapshotStore(),
      stores: createMemoryStores(),
      log: pino({ level: 'silent' }),
    });
    await sick.listen('127.0.0.2', Number(healthy.address.split(':')[1]));
    for (const [address, ready] of [
      ['127.0.0.1', true],
      ['127.0.0.2', false],
    ] as const) {
      const admin = createAdminServer(new DevproxyMetrics(() => (ready ? 1 : 0)), () => ready);
      admin.listen(envoyReadyPort, address);
      await once(admin, 'listening');
      envoyReadyPort = (admin.address() as AddressInfo).port;
      envoyAdmins.push(admin);
    }
    controller = new RemediationController(controllerOptions());
    await controller.start();
  });

  afterAll(async () => {
    await controller?.stop();
    await events_?.flush();
    await healthy?.close();
    await sick?.shutdown(100);
    for (const a of envoyAdmins.splice(0)) await new Promise((resolve) => a.close(resolve));
    for (const name of Object.values(nodeNames)) await admin.delete(nodePath(name)).catch(() => {});
    // No namespace controller runs to empty it; the objects go with the next environment.
    await admin.delete(`/api/v1/namespaces/${ns}`).catch(() => {});
  });

  it('evicts a pod Running but not Ready once notReadyFor has passed, through the Eviction API', async () => {
    await createDataPlane('notready', { enabled: true, notReadyFor: '3s', maxEvictionsPerHour: 5, minAvailable: 0 });
    const created = await createPod('notready-extproc-a', {
      dataPlane: 'notready',
      component: 'extproc',
      ready: false,
      notReadyForMs: 0,
    });
    const notReadySince = Date.parse(created.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime);
    await createPod('notready-extproc-b', { dataPlane: 'notready', component: 'extproc' });

    const evicted = await waitFor('the eviction', async () => {
      const p = await getPod('notready-extproc-a');
      return p.metadata.deletionTimestamp ? p : undefined;
    });
    // The Eviction API, not a plain delete: it marks the pod as disrupted by an eviction.
    expect(evicted.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI' }),
    );
    const [entry] = await waitFor('the status entry', async () => {
      const r = await remediations('notready');
      return r.length > 0 ? r : undefined;
    });
    expect(entry).toMatchObject({
      pod: 'notready-extproc-a',
      action: 'Evict',
      reason: expect.stringMatching(/^NotReady: Running but not Ready since /) as unknown,
    });
    // Not before the bound (whole seconds: status times have no fraction).
    expect(Date.parse(entry!.time)).toBeGreaterThanOrEqual(notReadySince + 3000);
    expect(await eventFor('notready-extproc-a', 'Evicted')).toMatchObject({
      type: 'Normal',
      related: { name: 'notready' },
    });
    expect((await getPod('notready-extproc-b')).metadata.deletionTimestamp).toBeUndefined();
    // The evicted pod terminates on a Ready node: no zombie any more.
    const dp = await waitFor('PodsHealthy', async () => {
      const d = await getDataPlane('notready');
      return condition(d, 'PodsHealthy')?.status === 'True' ? d : undefined;
    });
    expect(condition(dp, 'CapacityOK')).toMatchObject({ status: 'True', reason: 'Sufficient' });
  });

  it('respects a PodDisruptionBudget: a 429 is recorded and retried, and the eviction goes through once the PDB allows it', async () => {
    await createDataPlane('pdb', { enabled: true, maxEvictionsPerHour: 5, minAvailable: 0 });
    await createPdb('pdb-envoy', 'pdb', 'envoy', 0);
    // Ready between crashes: the PDB counts them as healthy, so it guards them.
    await createPod('pdb-envoy-a', { dataPlane: 'pdb', component: 'envoy', restarts: 6 });
    await createPod('pdb-envoy-b', { dataPlane: 'pdb', component: 'envoy', restarts: 6 });

    const refused = await eventFor('pdb-envoy-a', 'EvictionRefused');
    expect(refused.note).toContain('disruption budget');
    expect(refused.note).toContain('PodDisruptionBudget pdb-envoy');
    await eventFor('pdb-envoy-b', 'EvictionRefused');
    // Retried after a backoff (0.5 s doubling here), each refusal folded into the Event's series.
    await waitFor(
      'a second refusal',
      async () => ((await events('pdb-envoy-a')).find((e) => e.reason === 'EvictionRefused')?.series?.count ?? 0) >= 2,
    );
    const dp = await waitFor('PodsHealthy naming the refusal', async () => {
      const d = await getDataPlane('pdb');
      return condition(d, 'PodsHealthy')?.message.includes('EvictionRefused') ? d : undefined;
    });
    expect(condition(dp, 'PodsHealthy')).toMatchObject({ status: 'False', reason: 'ZombiePods' });
    expect((await getPod('pdb-envoy-a')).metadata.deletionTimestamp).toBeUndefined();
    expect((await getPod('pdb-envoy-b')).metadata.deletionTimestamp).toBeUndefined();
    expect(await remediations('pdb')).toEqual([]);

    // The budget allows one disruption: the apiserver grants exactly one and refuses the other.
    await setPdbStatus('pdb-envoy', 1, 1);
    const entries = await waitFor('one eviction', async () => {
      const r = await remediations('pdb');
      return r.length > 0 ? r : undefined;
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: 'Evict',
      reason: expect.stringMatching(/^CrashLoop: container envoy restarted 6 times/) as unknown,
    });
    const pods = await Promise.all(['pdb-envoy-a', 'pdb-envoy-b'].map(getPod));
    expect(pods.filter((p) => p.metadata.deletionTimestamp).map((p) => p.metadata.name)).toEqual([entries[0]!.pod]);
    expect((await admin.get<Live>(pdbPath('pdb-envoy'))).status?.disruptionsAllowed).toBe(0);
  });

  it('never goes below minAvailable: with it reached, the next eviction waits', async () => {
    await createDataPlane('minavail', { enabled: true, maxEvictionsPerHour: 5, minAvailable: 1 });
    await createPod('minavail-envoy-a', { dataPlane: 'minavail', component: 'envoy', restarts: 6 });
    await createPod('minavail-envoy-b', { dataPlane: 'minavail', component: 'envoy', restarts: 6 });

    const [first] = await waitFor('one eviction', async () => {
      const r = await remediations('minavail');
      return r.length > 0 ? r : undefined;
    });
    expect(first!.pod).toBe('minavail-envoy-a');
    const deferred = await eventFor('minavail-envoy-b', 'RemediationDeferred');
    expect(deferred.note).toContain('MinAvailable: component envoy has 1 Ready pod and minAvailable is 1');
    const dp = await waitFor('PodsHealthy naming the wait', async () => {
      const d = await getDataPlane('minavail');
      return condition(d, 'PodsHealthy')?.message.includes('minavail-envoy-b') ? d : undefined;
    });
    expect(condition(dp, 'PodsHealthy')?.message).toContain(
      'minavail-envoy-b (CrashLoop: container envoy restarted 6 times',
    );
    expect(condition(dp, 'PodsHealthy')?.message).toContain('waiting (MinAvailable');
    expect((await getPod('minavail-envoy-b')).metadata.deletionTimestamp).toBeUndefined();
    expect(await remediations('minavail')).toHaveLength(1);
  });

  it('in dry run only reports: status entry and Event, the pod stays', async () => {
    await createDataPlane('dry', {
      enabled: true,
      dryRun: true,
      notReadyFor: '1m',
      maxEvictionsPerHour: 5,
      minAvailable: 0,
    });
    await createPod('dry-extproc-a', {
      dataPlane: 'dry',
      component: 'extproc',
      ready: false,
      notReadyForMs: 10 * 60_000,
    });

    const [entry] = await waitFor('the report', async () => {
      const r = await remediations('dry');
      return r.length > 0 ? r : undefined;
    });
    expect(entry).toMatchObject({
      pod: 'dry-extproc-a',
      action: 'DryRunEvict',
      reason: expect.stringMatching(/^NotReady: /) as unknown,
    });
    expect((await eventFor('dry-extproc-a', 'DryRun')).note).toMatch(/^dry run: would evict: NotReady: /);
    const pod = await getPod('dry-extproc-a');
    expect(pod.metadata.deletionTimestamp).toBeUndefined();
    expect(pod.status!.conditions!.some((c) => c.type === 'DisruptionTarget')).toBe(false);
    expect(condition(await getDataPlane('dry'), 'PodsHealthy')?.message).toContain('dry run: would evict');
  });

  it('force-deletes a pod terminating on a node NotReady past the bound or tainted out-of-service, and never one on a Ready node', async () => {
    await createDataPlane('lost', { enabled: true, maxEvictionsPerHour: 5, minAvailable: 0 });
    await createPod('lost-envoy-a', { dataPlane: 'lost', component: 'envoy', node: nodeNames.lost });
    await createPod('lost-envoy-b', { dataPlane: 'lost', component: 'envoy', node: nodeNames.ready });
    await createPod('lost-envoy-c', { dataPlane: 'lost', component: 'envoy', node: nodeNames.shutDown });
    // Deleted as a drain or a rollout would: gracefully, so they wait for a kubelet to confirm.
    for (const name of ['lost-envoy-a', 'lost-envoy-b', 'lost-envoy-c']) await admin.delete(podPath(name));
    expect((await getPod('lost-envoy-b')).metadata.deletionTimestamp).toBeDefined();

    await waitFor('lost-envoy-a force-deleted', () => isGone('lost-envoy-a'));
    await waitFor('lost-envoy-c force-deleted', () => isGone('lost-envoy-c'));
    expect((await eventFor('lost-envoy-a', 'ForceDeleted')).note).toContain(
      `on node ${nodeNames.lost}, which is NotReady since`,
    );
    expect((await eventFor('lost-envoy-c', 'ForceDeleted')).note).toContain(
      'tainted node.kubernetes.io/out-of-service',
    );
    const entries = await remediations('lost');
    expect(entries.map((e) => [e.pod, e.action]).sort()).toEqual([
      ['lost-envoy-a', 'ForceDelete'],
      ['lost-envoy-c', 'ForceDelete'],
    ]);
    expect(await isGone('lost-envoy-b')).toBe(false);
    expect((await events('lost-envoy-b')).map((e) => e.reason)).toEqual([]);
  });

  it('evicts an extproc pod the kubelet calls Ready that fails the deep check, and keeps the one that passes', async () => {
    await createDataPlane('deep', { enabled: true, maxEvictionsPerHour: 5, minAvailable: 1 });
    await createPod('deep-extproc-good', { dataPlane: 'deep', component: 'extproc', podIP: '127.0.0.1' });
    await createPod('deep-extproc-sick', { dataPlane: 'deep', component: 'extproc', podIP: '127.0.0.2' });

    const [entry] = await waitFor('the eviction', async () => {
      const r = await remediations('deep');
      return r.length > 0 ? r : undefined;
    });
    expect(entry).toMatchObject({
      pod: 'deep-extproc-sick',
      action: 'Evict',
      reason:
        'DeepCheckFailed: Ready to the kubelet, but failed 2 or more deep checks in a row (last: health: NOT_SERVING)',
    });
    expect((await getPod('deep-extproc-sick')).metadata.deletionTimestamp).toBeDefined();
    // Several rounds later the serving pod is still there.
    await eventFor('deep-extproc-sick', 'Evicted');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await getPod('deep-extproc-good')).metadata.deletionTimestamp).toBeUndefined();
    expect(await remediations('deep')).toHaveLength(1);
  });

  it('evicts an Envoy pod the kubelet calls Ready whose /ready answers 503, and keeps the one that answers 200 LIVE', async () => {
    await createDataPlane('deepenvoy', { enabled: true, maxEvictionsPerHour: 5, minAvailable: 1 });
    await createPod('deepenvoy-envoy-good', { dataPlane: 'deepenvoy', component: 'envoy', podIP: '127.0.0.1' });
    await createPod('deepenvoy-envoy-sick', { dataPlane: 'deepenvoy', component: 'envoy', podIP: '127.0.0.2' });
    const [entry] = await waitFor('the eviction', async () => {
      const r = await remediations('deepenvoy');
      return r.length > 0 ? r : undefined;
    });
    expect(entry).toMatchObject({
      pod: 'deepenvoy-envoy-sick',
      action: 'Evict',
      reason:
        'DeepCheckFailed: Ready to the kubelet, but failed 2 or more deep checks in a row (last: ready: 503 PRE_INITIALIZING)',
    });
    // The sick one terminating, no zombie is left: the good one passes its checks.
    await eventFor('deepenvoy-envoy-sick', 'Evicted');
    await waitFor(
      'PodsHealthy=True',
      async () => condition(await getDataPlane('deepenvoy'), 'PodsHealthy')?.status === 'True',
    );
    expect((await getPod('deepenvoy-envoy-good')).metadata.deletionTimestamp).toBeUndefined();
    expect(await remediations('deepenvoy')).toHaveLength(1);
  });

  it('reports CapacityOK=False/Unschedulable for data-plane pods the scheduler cannot place', async () => {
    await createDataPlane('full', { enabled: false });
    const message =
      '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
    await createPod('full-envoy-a', {
      dataPlane: 'full',
      component: 'envoy',
      pending: { reason: 'Unschedulable', message },
    });
    const dp = await waitFor('CapacityOK=False', async () => {
      const d = await getDataPlane('full');
      return condition(d, 'CapacityOK')?.status === 'False' ? d : undefined;
    });
    expect(condition(dp, 'CapacityOK')).toMatchObject({
      reason: 'Unschedulable',
      message: `1 pod cannot be scheduled: full-envoy-a: ${message}`,
    });
    // The scheduler tries again and says so: reconciles with the problem unchanged, one Warning.
    for (const nodes of [4, 5]) {
      const again = `0/${nodes} nodes are available: ${nodes} Insufficient cpu.`;
      await admin.mergePatch(podPath('full-envoy-a', 'status'), {
        status: {
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: again,
              lastTransitionTime: iso(),
            },
          ],
        },
      });
      await waitFor('the new message', async () =>
        condition(await getDataPlane('full'), 'CapacityOK')?.message.includes(again),
      );
    }
    await events_.flush();
    const warnings = (
      await admin.list<EventObj>(
        resourcePath({ group: 'events.k8s.io', version: 'v1', resource: 'events', namespace: ns }),
      )
    ).items.filter((e) => e.type === 'Warning' && e.regarding.kind === 'DataPlane' && e.regarding.name === 'full');
    expect(warnings.map((e) => e.reason)).toEqual(['Unschedulable']);
    await admin.delete(podPath('full-envoy-a'));
    await waitFor(
      'CapacityOK=True',
      async () => condition(await getDataPlane('full'), 'CapacityOK')?.status === 'True',
    );
  });

  it('reports CapacityOK=False/AutoscalerFlapping while an HPA changes its mind too often, and True once the window has passed', async () => {
    await createDataPlane('flappy', { enabled: false });
    await admin.create(hpaPath(), {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'flappy-extproc', namespace: ns, labels: componentLabels('flappy', 'extproc') },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'flappy-extproc' },
        minReplicas: 2,
        maxReplicas: 10,
      },
    });
    // The controller allows 3 changes in 5 s here; the HPA makes 4.
    for (const desired of [2, 3, 2, 3, 2]) {
      await admin.mergePatch(hpaPath('flappy-extproc', 'status'), {
        status: { currentReplicas: 2, desiredReplicas: desired },
      });
    }
    const dp = await waitFor('CapacityOK=False', async () => {
      const d = await getDataPlane('flappy');
      return condition(d, 'CapacityOK')?.status === 'False' ? d : undefined;
    });
    expect(condition(dp, 'CapacityOK')).toMatchObject({
      reason: 'AutoscalerFlapping',
      message: 'HorizontalPodAutoscaler flappy-extproc changed its desired replicas 4 times in 5s (2 → 3 → 2 → 3 → 2)',
    });
    // Nothing else happens: the controller looks again when the oldest change leaves the window.
    await waitFor(
      'CapacityOK=True',
      async () => condition(await getDataPlane('flappy'), 'CapacityOK')?.status === 'True',
      20_000,
    );
  });

  it('keeps the hourly budget across a restart: it is counted from status.remediations', async () => {
    await createDataPlane('budget', { enabled: true, notReadyFor: '1m', maxEvictionsPerHour: 1, minAvailable: 0 });
    await createPod('budget-extproc-a', {
      dataPlane: 'budget',
      component: 'extproc',
      ready: false,
      notReadyForMs: 10 * 60_000,
    });
    await waitFor('the first eviction', async () => (await remediations('budget')).length === 1);

    await restartController();
    await createPod('budget-extproc-b', {
      dataPlane: 'budget',
      component: 'extproc',
      ready: false,
      notReadyForMs: 10 * 60_000,
    });
    const deferred = await eventFor('budget-extproc-b', 'RemediationDeferred');
    expect(deferred.note).toContain('BudgetExhausted: maxEvictionsPerHour 1 used; the next slot frees at');
    expect((await getPod('budget-extproc-b')).metadata.deletionTimestamp).toBeUndefined();
    expect(await remediations('budget')).toHaveLength(1);
  });

  it('keeps the autoscaler flap history across a restart: it is kept in status.autoscalerChanges', async () => {
    // A window long enough for a restart on a loaded machine.
    const flapping = { maxChanges: 3, windowMs: 10 * 60_000 };
    await restartController({ flapping });
    await createDataPlane('flaprestart', { enabled: false });
    await admin.create(hpaPath(), {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'flaprestart-envoy', namespace: ns, labels: componentLabels('flaprestart', 'envoy') },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'flaprestart-envoy' },
        minReplicas: 2,
        maxReplicas: 10,
      },
    });
    const setDesired = (desired: number) =>
      admin.mergePatch(hpaPath('flaprestart-envoy', 'status'), {
        status: { currentReplicas: 2, desiredReplicas: desired },
      });
    for (const desired of [2, 3, 2, 3, 2]) await setDesired(desired);
    const flappy = await waitFor('CapacityOK=False with 4 changes', async () => {
      const d = await getDataPlane('flaprestart');
      return condition(d, 'CapacityOK')?.message.includes('4 times') ? d : undefined;
    });
    expect((flappy.status as { autoscalerChanges?: unknown[] }).autoscalerChanges).toHaveLength(4);

    await restartController({ flapping });
    // One more change after the restart: the condition counts the four from before it too.
    await setDesired(3);
    const after = await waitFor('CapacityOK=False with 5 changes', async () => {
      const d = await getDataPlane('flaprestart');
      return condition(d, 'CapacityOK')?.message.includes('5 times') ? d : undefined;
    });
    expect(condition(after, 'CapacityOK')).toMatchObject({
      status: 'False',
      reason: 'AutoscalerFlapping',
      message:
        'HorizontalPodAutoscaler flaprestart-envoy changed its desired replicas 5 times in 10m (2 → 3 → 2 → 3 → 2 → 3)',
    });
    // The condition never went True across the restart.
    expect(condition(after, 'CapacityOK')!.lastTransitionTime).toBe(
      condition(flappy, 'CapacityOK')!.lastTransitionTime,
    );
  });

  it('reports a pod stuck in ContainerCreating on a volume that cannot be mounted past stuckCreatingFor, and evicts it where remediation is on', async () => {
    const mountFailure =
      'MountVolume.MountDevice failed for volume "pvc-1" : rpc error: code = Internal desc = volume is attached to another node';
    // Remediation off: reported only, with a Warning Event.
    await createDataPlane('stuckreport', { enabled: false, stuckCreatingFor: '1m' });
    const reported = await createPod('stuckreport-extproc-a', {
      dataPlane: 'stuckreport',
      component: 'extproc',
      creatingForMs: 10 * 60_000,
    });
    await volumeEvent(reported, 'FailedMount', mountFailure);
    const notHealthy = await waitFor('PodsHealthy=False naming the pod', async () => {
      const c = condition(await getDataPlane('stuckreport'), 'PodsHealthy');
      return c?.status === 'False' ? c : undefined;
    });
    expect(notHealthy.message).toBe(
      `1 zombie pod: stuckreport-extproc-a (VolumeStuck: scheduled to node ${nodeNames.ready} at ${
        reported.status!.conditions!.find((c) => c.type === 'PodScheduled')!.lastTransitionTime
      } and no container started (stuckCreatingFor 1m): FailedMount: ${mountFailure}): not remediated, spec.remediation.enabled is false`,
    );
    const warning = await waitFor('a Warning Event on the DataPlane', async () => {
      const list = await admin.list<EventObj>(
        resourcePath({ group: 'events.k8s.io', version: 'v1', resource: 'events', namespace: ns }),
      );
      return list.items.find(
        (e) => e.regarding.kind === 'DataPlane' && e.regarding.name === 'stuckreport' && e.reason === 'ZombiePods',
      );
    });
    expect(warning.type).toBe('Warning');

    // Remediation on: evicted (the Deployment's new pod may get the volume); a pod still within the
    // bound, and one stuck without a volume failure (an image pull, say), are left alone.
    await createDataPlane('stuck', { enabled: true, stuckCreatingFor: '1m', maxEvictionsPerHour: 5, minAvailable: 1 });
    await createPod('stuck-envoy-ready', { dataPlane: 'stuck', component: 'envoy' });
    const young = await createPod('stuck-envoy-young', { dataPlane: 'stuck', component: 'envoy', creatingForMs: 0 });
    await volumeEvent(young, 'FailedAttachVolume', 'AttachVolume.Attach failed for volume "pvc-2" : timed out');
    await createPod('stuck-extproc-pulling', { dataPlane: 'stuck', component: 'extproc', creatingForMs: 10 * 60_000 });
    const stuck = await createPod('stuck-extproc-a', {
      dataPlane: 'stuck',
      component: 'extproc',
      creatingForMs: 10 * 60_000,
    });
    await volumeEvent(stuck, 'FailedAttachVolume', 'AttachVolume.Attach failed for volume "pvc-3" : node lost');
    await waitFor('the stuck pod evicted', async () => {
      const p = await getPod('stuck-extproc-a').catch(() => undefined);
      return !p || p.metadata.deletionTimestamp !== undefined;
    });
    const [entry] = await waitFor('the eviction recorded', async () => {
      const r = await remediations('stuck');
      return r.length > 0 ? r : undefined;
    });
    expect(entry).toMatchObject({
      pod: 'stuck-extproc-a',
      action: 'Evict',
      reason: expect.stringMatching(
        /^VolumeStuck: scheduled to node .* no container started \(stuckCreatingFor 1m\): FailedAttachVolume: AttachVolume.Attach failed for volume "pvc-3" : node lost$/,
      ) as unknown,
    });
    expect(await remediations('stuck')).toHaveLength(1);
    for (const name of ['stuck-envoy-young', 'stuck-extproc-pulling', 'stuck-envoy-ready'])
      expect((await getPod(name)).metadata.deletionTimestamp, name).toBeUndefined();
  });
});
