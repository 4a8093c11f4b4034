// The DataPlane controller against a real kube-apiserver, running as the restricted operator identity
// (the chart's ClusterRole): managed objects created with owner references, hand edits put back,
// fields added by hand left alone, objects no longer rendered deleted (and only ours), status written.
// No kubelet or controller-manager runs: the test writes the Deployments' status itself.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../lib/log.ts';
import { eventually } from '../../../../e2e/env/eventually.ts';
import { adminKubeConfig, operatorKubeConfig } from '../../../../e2e/env/kubeconfig.ts';
import { EventRecorder } from '../../kube/events.ts';
import { KubeRest, resourcePath } from '../../kube/rest.ts';
import { StatusWriter } from '../../kube/status-writer.ts';
import type { NodeStatus } from '../../xds/node-registry.ts';
import { DataPlaneController } from './controller.ts';
import { renderDataPlane, type DataPlaneObject, type KubeObject, type RenderOptions } from './render.ts';
import { managedKinds } from '../../watches.ts';

type Port = { name?: string; port: number; targetPort?: number | string; protocol?: string };
type Container = { image: string; args?: string[]; env?: unknown[] };
/** The fields of the managed objects (Deployments, Services, ConfigMaps) this test reads. */
type Live = KubeObject & {
  spec?: { replicas?: number; clusterIP?: string; ports?: Port[]; template?: { spec: { containers: Container[] } } };
  data?: Record<string, string>;
};
type DataPlaneStatus = {
  configVersion?: string;
  observedGeneration?: number;
  components?: unknown[];
  conditions?: { type: string }[];
};

const admin = new KubeRest(adminKubeConfig());
const operatorKc = operatorKubeConfig();
const operator = new KubeRest(operatorKc);
const log = createLogger('dataplane-test', process.env.GATEHOUSE_LOG_LEVEL ?? 'warn');
const ns = `dp-${randomBytes(4).toString('hex')}`;
const dpPath = resourcePath({
  group: 'gatehouse.dev',
  version: 'v1alpha1',
  resource: 'dataplanes',
  namespace: ns,
  name: 'eu',
});
const renderOptions: RenderOptions = {
  envoyImage: 'envoyproxy/envoy:distroless-v1.36.2',
  gatehouseImage: 'gatehouse:test',
  xds: { host: 'gatehouse-xds', port: 18000 },
  operatorNamespace: 'gatehouse-system',
};

function pathOf(kind: string, name: string): string {
  const { group, version, resource } = managedKinds.find((k) => k.kind === kind)!;
  return resourcePath({ group, version, resource, namespace: ns, name });
}
const get = (kind: string, name: string) => admin.get<Live>(pathOf(kind, name));
const strategicPatch = (path: string, body: unknown) =>
  admin.request('PATCH', path, { body, contentType: 'application/strategic-merge-patch+json' });
const dataPlane = () => admin.get<DataPlaneObject & { status?: DataPlaneStatus }>(dpPath);
const condition = (dp: { status?: { conditions?: { type: string }[] } }, type: string) =>
  dp.status?.conditions?.find((c) => c.type === type) as
    { status: string; reason: string; message: string } | undefined;

let nodes: NodeStatus[] = [];
let controller: DataPlaneController;
let uid: string;

describe('DataPlane controller', () => {
  beforeAll(async () => {
    await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const created = await admin.create<DataPlaneObject>(
      resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace: ns }),
      {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'DataPlane',
        metadata: { name: 'eu', namespace: ns },
        spec: {
          region: 'eu-west-1',
          listeners: [
            { name: 'http', port: 8080 },
            { name: 'https', port: 8443, protocol: 'HTTPS', tls: { issue: true } },
          ],
          redis: { secretRef: { name: 'redis' }, onUnavailable: 'FailClosed' },
          remediation: { minAvailable: 1 },
          autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 4 },
        },
      },
    );
    uid = created.metadata.uid;
    controller = new DataPlaneController({
      rest: operator,
      kc: operatorKc,
      log,
      renderOptions,
      namespace: ns,
      nodes: () => nodes,
      configVersion: () => 'v1',
      writer: new StatusWriter({ rest: operator, log }),
      events: new EventRecorder({
        rest: operator,
        controller: 'gatehouse.dev/operator',
        instance: 'dataplane-test',
        log,
      }),
      isLeader: () => true,
    });
    await controller.start();
  });

  afterAll(async () => {
    await controller?.stop();
    // No namespace controller runs to empty it; the objects go with the next environment.
    await admin.delete(`/api/v1/namespaces/${ns}`).catch(() => {});
  });

  it('creates every managed object, owned by the DataPlane and applied by field manager gatehouse', async () => {
    const expected = renderDataPlane(await dataPlane(), renderOptions);
    expect(expected.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/eu-envoy',
      'ServiceAccount/eu-extproc',
      'ConfigMap/eu-envoy-bootstrap',
      'Service/eu-envoy',
      'Service/eu-extproc',
      'Deployment/eu-envoy',
      'Deployment/eu-extproc',
      'PodDisruptionBudget/eu-envoy',
      'PodDisruptionBudget/eu-extproc',
      'HorizontalPodAutoscaler/eu-envoy',
      'HorizontalPodAutoscaler/eu-extproc',
    ]);
    for (const o of expected) {
      const live = await eventually(`${o.kind} ${o.metadata.name}`, () => get(o.kind, o.metadata.name));
      expect(live.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'gatehouse.dev/v1alpha1',
          kind: 'DataPlane',
          name: 'eu',
          uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(live.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'gatehouse',
        'gatehouse.dev/dataplane': 'eu',
      });
      const managers =
        (live.metadata as { managedFields?: { manager: string; operation: string }[] }).managedFields ?? [];
      expect(managers.some((m) => m.manager === 'gatehouse' && m.operation === 'Apply')).toBe(true);
    }
    const envoy = await get('Deployment', 'eu-envoy');
    // The HPA owns the replica count: the apiserver's default, not ours.
    expect(envoy.spec!.replicas).toBe(1);
    expect(envoy.spec!.template!.spec.containers[0]!.args).toContain(`${ns}/eu/envoy`);
    const extproc = await get('Deployment', 'eu-extproc');
    expect(extproc.spec!.template!.spec.containers[0]!.env).toContainEqual({
      name: 'GATEHOUSE_REDIS_URL',
      valueFrom: { secretKeyRef: { name: 'redis', key: 'url' } },
    });
  });

  it('writes status: not Ready while the Deployments have no pods', async () => {
    const dp = await eventually('status', async () => {
      const d = await dataPlane();
      return condition(d, 'Ready') ? d : undefined;
    });
    expect(condition(dp, 'Ready')).toMatchObject({ status: 'False', reason: 'WorkloadsNotReady' });
    expect(condition(dp, 'ConfigSynced')).toMatchObject({ status: 'False', reason: 'NoNodesConnected' });
    expect(dp.status!.configVersion).toBe('v1');
    expect(dp.status!.observedGeneration).toBe(dp.metadata.generation);
    expect(dp.status!.components).toEqual([
      { name: 'envoy', replicas: 1, readyReplicas: 0 },
      { name: 'extproc', replicas: 1, readyReplicas: 0 },
    ]);
  });

  it('puts back hand edits of fields it owns, and leaves fields added by hand alone', async () => {
    const bootstrap = (await get('ConfigMap', 'eu-envoy-bootstrap')).data!['bootstrap.json'];
    await strategicPatch(pathOf('Deployment', 'eu-envoy'), {
      spec: { template: { spec: { containers: [{ name: 'envoy', image: 'evil:latest' }] } } },
    });
    await admin.mergePatch(pathOf('ConfigMap', 'eu-envoy-bootstrap'), {
      data: { 'bootstrap.json': '{}', 'added-by-hand': 'kept' },
    });
    await strategicPatch(pathOf('Service', 'eu-envoy'), {
      metadata: { annotations: { 'example.com/owner': 'team-a' } },
      spec: { ports: [{ port: 8080, targetPort: 1234 }] },
    });

    await eventually(
      'the Envoy image put back',
      async () =>
        (await get('Deployment', 'eu-envoy')).spec!.template!.spec.containers[0]!.image === renderOptions.envoyImage,
    );
    const cm = await eventually('the bootstrap put back', async () => {
      const c = await get('ConfigMap', 'eu-envoy-bootstrap');
      return c.data!['bootstrap.json'] === bootstrap ? c : undefined;
    });
    expect(cm.data!['added-by-hand']).toBe('kept');
    const svc = await eventually('the Service port put back', async () => {
      const s = await get('Service', 'eu-envoy');
      return s.spec!.ports!.find((p) => p.port === 8080)?.targetPort === 8080 ? s : undefined;
    });
    expect(svc.metadata.annotations?.['example.com/owner']).toBe('team-a');
  });

  it('brings back a Service port replaced by hand; the port added by hand stays with its owner', async () => {
    const ports = (await get('Service', 'eu-envoy')).spec!.ports!;
    // A JSON merge patch replaces the whole list: 8443 stays, 8080 becomes 9999.
    await admin.mergePatch(pathOf('Service', 'eu-envoy'), {
      spec: {
        ports: ports.map((p) =>
          p.port === 8080 ? { name: 'other', port: 9999, targetPort: 9999, protocol: 'TCP' } : p,
        ),
      },
    });
    const svc = await eventually('port 8080 back', async () => {
      const s = await get('Service', 'eu-envoy');
      return s.spec!.ports!.some((p) => p.port === 8080) ? s : undefined;
    });
    expect(svc.spec!.ports!.map((p) => p.port).sort()).toEqual([8080, 8443, 9999]);
  });

  it('recreates a managed object deleted by hand', async () => {
    const before = await get('Service', 'eu-extproc');
    await admin.delete(pathOf('Service', 'eu-extproc'));
    const after = await eventually('the extproc Service back', async () => {
      const s = await get('Service', 'eu-extproc');
      return s.metadata.uid !== before.metadata.uid ? s : undefined;
    });
    expect(after.spec!.clusterIP).toBe('None');
    expect(after.metadata.ownerReferences?.[0]?.uid).toBe(uid);
  });

  it('is Ready once the Deployments are available and every node runs the served version', async () => {
    for (const name of ['eu-envoy', 'eu-extproc']) {
      const d = await get('Deployment', name);
      const replicas = d.spec!.replicas!;
      await admin.mergePatch(`${pathOf('Deployment', name)}/status`, {
        status: {
          observedGeneration: d.metadata.generation,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: replicas,
          availableReplicas: replicas,
        },
      });
    }
    const now = new Date().toISOString();
    nodes = [
      {
        id: 'eu-envoy-7d9f-abcde',
        cluster: `${ns}/eu/envoy`,
        connectedSince: now,
        streams: 1,
        syncedVersion: 'v1',
        syncedAt: now,
        types: {},
      },
      {
        id: 'eu-extproc-5c4b-fghij',
        cluster: `${ns}/eu/extproc`,
        connectedSince: now,
        streams: 1,
        syncedVersion: 'v1',
        syncedAt: now,
        types: {},
      },
      {
        id: 'other',
        cluster: 'elsewhere/eu/envoy',
        connectedSince: now,
        streams: 1,
        syncedVersion: 'v0',
        syncedAt: now,
        types: {},
      },
    ];
    controller.enqueueAll();
    const dp = await eventually('Ready', async () => {
      const d = await dataPlane();
      return condition(d, 'Ready')?.status === 'True' ? d : undefined;
    });
    expect(condition(dp, 'ConfigSynced')).toMatchObject({
      status: 'True',
      reason: 'Synced',
      message: 'all 2 connected nodes run v1',
    });
    expect(dp.status!.components).toEqual([
      { name: 'envoy', replicas: 1, readyReplicas: 1, syncedVersion: 'v1' },
      { name: 'extproc', replicas: 1, readyReplicas: 1, syncedVersion: 'v1' },
    ]);
  });

  it('changes nothing when it reconciles again', async () => {
    const kinds = [
      'ServiceAccount',
      'ConfigMap',
      'Service',
      'Deployment',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
    ];
    const versions = async () =>
      Object.fromEntries(
        await Promise.all(
          kinds.flatMap((k) =>
            ['eu-envoy', 'eu-extproc'].map(async (n): Promise<[string, string | undefined]> => {
              const name = k === 'ConfigMap' ? (n === 'eu-envoy' ? 'eu-envoy-bootstrap' : undefined) : n;
              return name ? [`${k}/${name}`, (await get(k, name)).metadata.resourceVersion] : ['', ''];
            }),
          ),
        ),
      );
    const before = await versions();
    const dpVersion = (await dataPlane()).metadata.resourceVersion;
    await controller.reconcile(`${ns}/eu`);
    expect(await versions()).toEqual(before);
    expect((await dataPlane()).metadata.resourceVersion).toBe(dpVersion);
  });

  it('deletes the HPAs when autoscaling is turned off, sets the replicas, and deletes nothing that is not its own', async () => {
    // Labelled like ours but not owned by the DataPlane: must survive the pruning.
    await admin.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'eu-lookalike',
        labels: { 'app.kubernetes.io/managed-by': 'gatehouse', 'gatehouse.dev/dataplane': 'eu' },
      },
      data: { a: 'b' },
    });
    await admin.mergePatch(dpPath, { spec: { autoscaling: { enabled: false }, envoy: { replicas: 3 } } });
    for (const name of ['eu-envoy', 'eu-extproc']) {
      await eventually(`HPA ${name} deleted`, async () => {
        try {
          await get('HorizontalPodAutoscaler', name);
          return false;
        } catch (err) {
          return (err as { status?: number }).status === 404;
        }
      });
    }
    await eventually('envoy replicas 3', async () => (await get('Deployment', 'eu-envoy')).spec!.replicas === 3);
    await eventually('extproc replicas 2', async () => (await get('Deployment', 'eu-extproc')).spec!.replicas === 2);
    expect((await get('ConfigMap', 'eu-lookalike')).data).toEqual({ a: 'b' });
    // The Deployment's status says 1 of 3: not Ready any more.
    await eventually('Ready False', async () => condition(await dataPlane(), 'Ready')?.reason === 'WorkloadsNotReady');
    await eventually('a Deleted event', async () => {
      const list = await admin.list<{ reason: string; note: string; regarding: { name: string } }>(
        `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
      );
      return list.items.some(
        (e) => e.reason === 'Deleted' && e.regarding.name === 'eu' && e.note.includes('HorizontalPodAutoscaler'),
      );
    });
  });

  it('puts back a hand edit of the replica count it owns', async () => {
    await admin.mergePatch(pathOf('Deployment', 'eu-envoy'), { spec: { replicas: 7 } });
    await eventually('replicas put back', async () => (await get('Deployment', 'eu-envoy')).spec!.replicas === 3);
  });
});
