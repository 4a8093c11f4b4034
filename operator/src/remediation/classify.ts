// Is a data-plane pod a zombie (docs/architecture.md#the-operator)? A pod that looks alive to Kubernetes but does not serve,
// and that nothing else will remove:
// - NotReady: Running but not Ready for `notReadyFor` or longer (its Ready condition's last transition,
//   else its start). The Deployment keeps it, and it holds a replica slot forever;
// - DeepCheckFailed: the kubelet says Ready, but the operator's own check (gRPC health plus a real
//   ext_proc round trip, deep-check.ts) failed `deepCheckFailures` times in a row;
// - CrashLoop: a container restarted at least `crashLoop.restarts` times and is in CrashLoopBackOff
//   or last terminated within `crashLoop.windowMs`;
// - TerminatingOnNotReadyNode: deleted, but its node is NotReady or tainted out-of-service, so no
//   kubelet will ever confirm the deletion and the pod stays Terminating;
// - VolumeStuck: scheduled, but no container started for `stuckCreatingFor` since, and its volumes
//   fail to attach or mount (a FailedMount / FailedAttachVolume Event): a lost node or volume. Deleted,
//   the Deployment's new pod may land where the volume can be had.
// Pure: the same pod, node, time, policy and deep-check record give the same answer. Messages name
// times, never ages ("since 10:02:00Z", not "for 7m"), so a condition built from them does not change,
// and get written again, every time it is evaluated.
import type { ClassifyPolicy } from './policy.ts';
import {
  condition,
  formatDuration,
  isReady,
  isTerminating,
  nodeHealth,
  outOfServiceTaint,
  parseTime,
  rfc3339,
  isStuckCreating,
  type ContainerStatus,
  type Node,
  type Pod,
  type VolumeFailure,
} from './pods.ts';

export type ZombieKind = 'NotReady' | 'DeepCheckFailed' | 'CrashLoop' | 'TerminatingOnNotReadyNode' | 'VolumeStuck';
export const zombieKinds: readonly ZombieKind[] = [
  'TerminatingOnNotReadyNode',
  'CrashLoop',
  'NotReady',
  'VolumeStuck',
  'DeepCheckFailed',
];

/** The deep checker's record of a pod (deep-check-schedule.ts); absent when it was never checked. */
export interface DeepCheckRecord {
  consecutiveFailures: number;
  /** The last failure's reason ("health: NOT_SERVING", "ext_proc: no reply within 2000 ms"). */
  message: string;
}

export type Classification =
  | {
      zombie: false;
      /** When the pod turns into a zombie if nothing else changes (the NotReady clock). */ recheckAt?: Date;
    }
  | { zombie: true; kind: ZombieKind; message: string };

const healthy: Classification = { zombie: false };

export function classify(
  pod: Pod,
  node: Node | undefined,
  now: Date,
  policy: ClassifyPolicy,
  deepCheck?: DeepCheckRecord,
  volumeFailure?: VolumeFailure,
): Classification {
  if (isTerminating(pod)) return terminating(pod, node);
  if (isStuckCreating(pod)) return stuckCreating(pod, now, policy, volumeFailure);
  if (pod.status?.phase !== 'Running') return healthy;

  const crash = crashLoop(pod, now, policy);
  if (crash) return { zombie: true, kind: 'CrashLoop', message: crash };

  if (!isReady(pod)) {
    const since =
      parseTime(condition(pod, 'Ready')?.lastTransitionTime) ??
      parseTime(pod.status?.startTime) ??
      parseTime(pod.metadata.creationTimestamp);
    if (!since) return healthy;
    const elapsed = now.getTime() - since.getTime();
    if (elapsed >= policy.notReadyForMs) {
      return {
        zombie: true,
        kind: 'NotReady',
        message: `Running but not Ready since ${rfc3339(since)} (notReadyFor ${formatDuration(policy.notReadyForMs)})`,
      };
    }
    return { zombie: false, recheckAt: new Date(since.getTime() + policy.notReadyForMs) };
  }

  if (deepCheck && deepCheck.consecutiveFailures >= policy.deepCheckFailures) {
    return {
      zombie: true,
      kind: 'DeepCheckFailed',
      message: `Ready to the kubelet, but failed ${policy.deepCheckFailures} or more deep checks in a row (last: ${deepCheck.message})`,
    };
  }
  return healthy;
}

/** Event messages are the kubelet's; a condition message keeps this much of one. */
const maxFailureMessage = 256;

function stuckCreating(pod: Pod, now: Date, policy: ClassifyPolicy, failure?: VolumeFailure): Classification {
  // Without a volume failure it may be pulling an image, or starting: not ours to judge.
  if (!failure) return healthy;
  const since =
    parseTime(condition(pod, 'PodScheduled')?.lastTransitionTime) ??
    parseTime(pod.status?.startTime) ??
    parseTime(pod.metadata.creationTimestamp);
  if (!since) return healthy;
  if (now.getTime() - since.getTime() < policy.stuckCreatingForMs)
    return { zombie: false, recheckAt: new Date(since.getTime() + policy.stuckCreatingForMs) };
  const message =
    failure.message.length <= maxFailureMessage
      ? failure.message
      : `${failure.message.slice(0, maxFailureMessage - 3)}...`;
  return {
    zombie: true,
    kind: 'VolumeStuck',
    message: `scheduled to node ${pod.spec!.nodeName} at ${rfc3339(since)} and no container started (stuckCreatingFor ${formatDuration(policy.stuckCreatingForMs)}): ${failure.reason}: ${message}`,
  };
}

function terminating(pod: Pod, node: Node | undefined): Classification {
  // No node object: the pod garbage collector removes pods bound to nodes that no longer exist.
  if (!node) return healthy;
  const health = nodeHealth(node);
  if (health.ready && !health.outOfService) return healthy;
  const since = parseTime(pod.metadata.deletionTimestamp);
  const why = health.outOfService
    ? `tainted ${outOfServiceTaint}`
    : `NotReady${health.notReadySince ? ` since ${rfc3339(health.notReadySince)}` : ''}`;
  return {
    zombie: true,
    kind: 'TerminatingOnNotReadyNode',
    message: `Terminating${since ? ` since ${rfc3339(since)}` : ''} on node ${health.name}, which is ${why}: no kubelet will confirm the deletion`,
  };
}

/** Why the pod is crash looping, or undefined. */
function crashLoop(pod: Pod, now: Date, policy: ClassifyPolicy): string | undefined {
  const statuses: ContainerStatus[] = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const s of statuses) {
    const restarts = s.restartCount ?? 0;
    if (restarts < policy.crashLoop.restarts) continue;
    if (s.state?.waiting?.reason === 'CrashLoopBackOff') {
      return `container ${s.name} restarted ${restarts} times and is in CrashLoopBackOff${s.state.waiting.message ? `: ${s.state.waiting.message}` : ''}`;
    }
    const finished = parseTime(s.lastState?.terminated?.finishedAt);
    if (finished && now.getTime() - finished.getTime() <= policy.crashLoop.windowMs) {
      const t = s.lastState!.terminated!;
      return `container ${s.name} restarted ${restarts} times, last at ${rfc3339(finished)} (${t.reason ?? 'exit code'} ${t.exitCode ?? '?'})`;
    }
  }
  return undefined;
}
