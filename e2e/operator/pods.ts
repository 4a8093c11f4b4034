// Nodes and data-plane pods on a test apiserver where no kubelet, scheduler or controller-manager runs:
// the admin creates them (pods bound with spec.nodeName) and writes the status a kubelet would write,
// so the remediation controller sees a Ready node and Running pods, Ready or not.
import { componentLabels, type Component } from '../../operator/src/api/names.ts';
import { resourcePath, type KubeRest } from '../../operator/src/kube/rest.ts';

/** RFC 3339 without fraction, `msAgo` milliseconds before now (status times have whole seconds). */
export const kubeTime = (msAgo = 0): string => new Date(Date.now() - msAgo).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A Node whose kubelet reports Ready (admin client: nodes are cluster-scoped). */
export async function createReadyNode(admin: KubeRest, name: string): Promise<void> {
  await admin.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} });
  await admin.mergePatch(resourcePath({ version: 'v1', resource: 'nodes', name, subresource: 'status' }), {
    status: {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'written by the test',
          lastHeartbeatTime: kubeTime(),
          lastTransitionTime: kubeTime(3_600_000),
        },
      ],
    },
  });
}

export interface RunningPod {
  namespace: string;
  name: string;
  dataPlane: string;
  component: Component;
  node: string;
  /** Default true. A pod not Ready turned so just now. */
  ready?: boolean;
}

/** A Running pod of a DataPlane's Deployment (its labels), with the status a kubelet would write. */
export async function createRunningPod(admin: KubeRest, pod: RunningPod): Promise<void> {
  const image = pod.component === 'envoy' ? 'envoyproxy/envoy:test' : 'gatehouse:test';
  const ready = pod.ready !== false;
  await admin.create(resourcePath({ version: 'v1', resource: 'pods', namespace: pod.namespace }), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: pod.namespace, labels: componentLabels(pod.dataPlane, pod.component) },
    spec: { nodeName: pod.node, containers: [{ name: pod.component, image }] },
  });
  await admin.mergePatch(
    resourcePath({ version: 'v1', resource: 'pods', namespace: pod.namespace, name: pod.name, subresource: 'status' }),
    {
      status: {
        phase: 'Running',
        startTime: kubeTime(3_600_000),
        hostIP: '10.0.0.1',
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: kubeTime(3_600_000) },
          { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: kubeTime(ready ? 3_600_000 : 0) },
        ],
        containerStatuses: [
          {
            name: pod.component,
            image,
            imageID: '',
            ready,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: kubeTime(3_600_000) } },
          },
        ],
      },
    },
  );
}
