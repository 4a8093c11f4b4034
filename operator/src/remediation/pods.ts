// The parts of Pods, Nodes, PodDisruptionBudgets and HorizontalPodAutoscalers that remediation and
// capacity read, as the apiserver writes them (raw JSON, timestamps as strings), and small readers of
// them. Pure.
import { labelKeys, type Component } from '../api/names.ts';

export interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode?: number; reason?: string; finishedAt?: string; startedAt?: string };
}

export interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    startTime?: string;
    conditions?: PodCondition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface Node {
  metadata: { name: string; uid?: string };
  spec?: { taints?: { key: string; value?: string; effect?: string }[] };
  status?: { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface PodDisruptionBudget {
  metadata: { name: string; namespace?: string };
  spec?: { selector?: LabelSelector };
}

export interface HorizontalPodAutoscaler {
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string> };
  spec?: { minReplicas?: number };
  status?: { desiredReplicas?: number; currentReplicas?: number };
}

/**
 * The replica count an autoscaler asks for, or undefined before it has decided anything: the apiserver
 * writes desiredReplicas 0 into a new HPA's status, which is no decision unless the HPA may scale to zero.
 */
export function desiredReplicas(hpa: HorizontalPodAutoscaler): number | undefined {
  const desired = hpa.status?.desiredReplicas;
  return desired === 0 && (hpa.spec?.minReplicas ?? 1) > 0 ? undefined : desired;
}

/** A core/v1 Event as the kubelet or the attach/detach controller writes it, the fields read here. */
export interface PodEvent {
  metadata: { name: string; namespace?: string };
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  reason?: string;
  message?: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string };
}

/** The Event reasons of a volume that cannot be attached or mounted (kubelet, attach/detach controller). */
export const volumeFailureReasons = ['FailedMount', 'FailedAttachVolume'] as const;

/** The latest volume failure reported for a pod. */
export interface VolumeFailure {
  reason: string;
  message: string;
}

/** The latest FailedMount / FailedAttachVolume Event among `events` about this pod (by uid when the Event has one). */
export function volumeFailureOf(pod: Pod, events: readonly PodEvent[]): VolumeFailure | undefined {
  let latest: { at: number; failure: VolumeFailure } | undefined;
  for (const e of events) {
    const about = e.involvedObject;
    if (about?.kind !== 'Pod' || about.name !== pod.metadata.name) continue;
    if (about.uid && pod.metadata.uid && about.uid !== pod.metadata.uid) continue;
    if (!(volumeFailureReasons as readonly string[]).includes(e.reason ?? '')) continue;
    const at =
      parseTime(e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp)?.getTime() ?? 0;
    if (!latest || at > latest.at) latest = { at, failure: { reason: e.reason!, message: e.message ?? '' } };
  }
  return latest?.failure;
}

/**
 * Scheduled to a node but no container started: Pending, bound, and every container (if the kubelet
 * reported any) waiting to be created. Where a pod whose volumes cannot be mounted stays.
 */
export function isStuckCreating(pod: Pod): boolean {
  if (pod.status?.phase !== 'Pending' || !pod.spec?.nodeName || isTerminating(pod)) return false;
  const statuses = [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])];
  return statuses.every((s) => !s.state?.running && !s.state?.terminated && !s.lastState?.terminated);
}

/** The taint a cluster admin puts on a node that is shut down (non-graceful node shutdown, KEP-2268). */
export const outOfServiceTaint = 'node.kubernetes.io/out-of-service';

export const podKey = (pod: Pod) => `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
/** The pod's identity across re-creations under the same name (StatefulSet-style): its uid. */
export const podId = (pod: Pod) => pod.metadata.uid ?? podKey(pod);

export function condition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** Ready as the kubelet reports it (what Services and PDBs go by). */
export function isReady(pod: Pod): boolean {
  return condition(pod, 'Ready')?.status === 'True';
}

export const isTerminating = (pod: Pod) => pod.metadata.deletionTimestamp !== undefined;

/** The data-plane component of a pod, from its labels (api/names.ts). */
export function componentOf(pod: Pod): Component | undefined {
  const c = pod.metadata.labels?.[labelKeys.component];
  return c === 'envoy' || c === 'extproc' ? c : undefined;
}

/** The DataPlane a pod belongs to, from its labels. */
export const dataPlaneOf = (obj: { metadata?: { labels?: Record<string, string> } }) =>
  obj.metadata?.labels?.[labelKeys.dataPlane];

export interface NodeHealth {
  name: string;
  ready: boolean;
  /** When the node's Ready condition last left True (its lastTransitionTime), while not ready. */
  notReadySince?: Date;
  outOfService: boolean;
}

export function nodeHealth(node: Node): NodeHealth {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const isReadyNode = ready?.status === 'True';
  const since = !isReadyNode && ready?.lastTransitionTime ? new Date(ready.lastTransitionTime) : undefined;
  return {
    name: node.metadata.name,
    ready: isReadyNode,
    notReadySince: since && !Number.isNaN(since.getTime()) ? since : undefined,
    outOfService: (node.spec?.taints ?? []).some((t) => t.key === outOfServiceTaint),
  };
}

/** metav1.LabelSelector semantics; an empty or missing selector matches nothing (as for PDBs). */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  const ml = Object.entries(selector?.matchLabels ?? {});
  const me = selector?.matchExpressions ?? [];
  if (ml.length === 0 && me.length === 0) return false;
  if (!ml.every(([k, v]) => labels[k] === v)) return false;
  return me.every((e) => {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(labels[e.key]!);
      case 'NotIn':
        return !has || !(e.values ?? []).includes(labels[e.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}

/** A timestamp of the apiserver's as a Date, or undefined when absent or unreadable. */
export function parseTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** "7m12s", "45s", "2h3m": how long something has lasted, for messages. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${m > 0 ? `${m}m` : ''}`;
  if (m > 0) return `${m}m${sec > 0 ? `${sec}s` : ''}`;
  return `${sec}s`;
}

/** RFC 3339 to the second, as the apiserver writes times; messages name times, not ages, so they stay the same. */
export const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
