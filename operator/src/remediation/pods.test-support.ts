// Pods and nodes as the apiserver would hold them, for the unit tests of this folder.
import type { Node, Pod } from './pods.ts';

export const T0 = new Date('2026-03-01T10:00:00Z');
export const at = (ms: number) => new Date(T0.getTime() + ms);
export const iso = (ms: number) => at(ms).toISOString();
export const MIN = 60_000;

export interface PodShape {
  name?: string;
  component?: 'envoy' | 'extproc';
  dataPlane?: string;
  phase?: string;
  ready?: boolean;
  /** When Ready last changed, ms from T0. */
  readySince?: number;
  node?: string;
  deletedAt?: number;
  restarts?: number;
  waiting?: string;
  lastTerminatedAt?: number;
  scheduled?: { reason: string; message: string };
  ip?: string;
}

export function pod(shape: PodShape = {}): Pod {
  const name = shape.name ?? 'eu-extproc-1';
  const conditions = [];
  if (shape.scheduled)
    conditions.push({
      type: 'PodScheduled',
      status: 'False',
      reason: shape.scheduled.reason,
      message: shape.scheduled.message,
    });
  else conditions.push({ type: 'PodScheduled', status: 'True' });
  if ((shape.phase ?? 'Running') === 'Running') {
    conditions.push({
      type: 'Ready',
      status: shape.ready === false ? 'False' : 'True',
      lastTransitionTime: iso(shape.readySince ?? -60 * MIN),
    });
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      labels: {
        'app.kubernetes.io/name': shape.component ?? 'extproc',
        'app.kubernetes.io/component': shape.component ?? 'extproc',
        'app.kubernetes.io/instance': shape.dataPlane ?? 'eu',
        'gatehouse.dev/dataplane': shape.dataPlane ?? 'eu',
        'app.kubernetes.io/managed-by': 'gatehouse',
        'app.kubernetes.io/part-of': 'gatehouse',
      },
      creationTimestamp: iso(-120 * MIN),
      ...(shape.deletedAt === undefined ? {} : { deletionTimestamp: iso(shape.deletedAt) }),
    },
    spec: shape.scheduled ? {} : { nodeName: shape.node ?? 'node-a' },
    status: {
      phase: shape.phase ?? 'Running',
      startTime: iso(-120 * MIN),
      ...(shape.ip ? { podIP: shape.ip } : {}),
      conditions,
      containerStatuses: [
        {
          name: shape.component ?? 'extproc',
          ready: shape.ready !== false,
          restartCount: shape.restarts ?? 0,
          state: shape.waiting ? { waiting: { reason: shape.waiting } } : { running: { startedAt: iso(-30 * MIN) } },
          ...(shape.lastTerminatedAt === undefined
            ? {}
            : { lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: iso(shape.lastTerminatedAt) } } }),
        },
      ],
    },
  };
}

export function node(name = 'node-a', shape: { ready?: boolean; since?: number; outOfService?: boolean } = {}): Node {
  return {
    metadata: { name },
    spec: shape.outOfService
      ? { taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] }
      : {},
    status: {
      conditions: [
        {
          type: 'Ready',
          status: shape.ready === false ? 'False' : 'True',
          lastTransitionTime: iso(shape.since ?? -24 * 60 * MIN),
        },
      ],
    },
  };
}
