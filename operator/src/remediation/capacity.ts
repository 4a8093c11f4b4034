// The DataPlane's CapacityOK condition (docs/architecture.md#the-api and 9): False when data-plane pods cannot be placed
// (Pending, PodScheduled=False reason Unschedulable: the scheduler found no node with room), or when an
// autoscaler of the DataPlane is flapping (its desired replica count changed more than `maxChanges`
// times within `windowMs`); True otherwise. The unschedulable check reads the pods as they are; the
// flapping check needs a history of changes, which FlapDetector keeps in memory: an operator that
// restarts (or a new leader) starts with an empty history and needs a full window of observations
// before it can report flapping again. The HPA's status keeps no such history to rebuild it from.
import type { DesiredCondition } from '../kube/status-writer.ts';
import { condition, formatDuration, isTerminating, type Pod } from './pods.ts';

export const CAPACITY_OK = 'CapacityOK';

export interface UnschedulablePod {
  name: string;
  /** The scheduler's message ("0/3 nodes are available: 3 Insufficient cpu."). */
  message: string;
}

export function unschedulablePods(pods: readonly Pod[]): UnschedulablePod[] {
  return pods
    .filter((p) => p.status?.phase === 'Pending' && !isTerminating(p))
    .flatMap((p) => {
      const scheduled = condition(p, 'PodScheduled');
      return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable'
        ? [{ name: p.metadata.name, message: scheduled.message ?? '' }]
        : [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface FlapPolicy {
  /** More than this many changes within the window is flapping (default 6). */
  maxChanges: number;
  /** Default 30 minutes. */
  windowMs: number;
}

export const DEFAULT_FLAP_POLICY: FlapPolicy = { maxChanges: 6, windowMs: 30 * 60_000 };

export interface Flapping {
  /** The autoscaler, "namespace/name". */
  key: string;
  changes: number;
  /** The desired replica counts, oldest first, from the value before the first change in the window. */
  values: number[];
  /** When the oldest change leaves the window (the condition may clear then). */
  oldestExpiresAt: Date;
}

interface Change {
  at: number;
  from: number;
  to: number;
}

/** Changes of each autoscaler's desired replica count, in memory, pruned to the window. */
export class FlapDetector {
  private readonly policy: FlapPolicy;
  private readonly last = new Map<string, number>();
  private readonly changes = new Map<string, Change[]>();

  constructor(policy: Partial<FlapPolicy> = {}) {
    this.policy = { ...DEFAULT_FLAP_POLICY, ...policy };
  }

  /** Records the autoscaler's current desired replicas; a change from the last value seen counts. Returns whether it changed. */
  observe(key: string, desiredReplicas: number | undefined, at: Date): boolean {
    if (desiredReplicas === undefined) return false;
    const before = this.last.get(key);
    this.last.set(key, desiredReplicas);
    if (before === undefined || before === desiredReplicas) return false;
    const list = this.prune(key, at);
    list.push({ at: at.getTime(), from: before, to: desiredReplicas });
    // Bounded whatever the policy: more than this is flapping many times over.
    if (list.length > 4 * (this.policy.maxChanges + 1)) list.splice(0, list.length - 4 * (this.policy.maxChanges + 1));
    this.changes.set(key, list);
    return true;
  }

  forget(key: string): void {
    this.last.delete(key);
    this.changes.delete(key);
  }

  /** The autoscaler's flapping at `now`, or undefined when it changed at most maxChanges times in the window. */
  flapping(key: string, now: Date): Flapping | undefined {
    const list = this.prune(key, now);
    const [oldest] = list;
    if (oldest === undefined || list.length <= this.policy.maxChanges) return undefined;
    return {
      key,
      changes: list.length,
      values: [oldest.from, ...list.map((c) => c.to)],
      oldestExpiresAt: new Date(oldest.at + this.policy.windowMs),
    };
  }

  get windowMs(): number {
    return this.policy.windowMs;
  }

  private prune(key: string, now: Date): Change[] {
    const since = now.getTime() - this.policy.windowMs;
    const list = (this.changes.get(key) ?? []).filter((c) => c.at > since);
    if (list.length === 0) this.changes.delete(key);
    else this.changes.set(key, list);
    return list;
  }
}

export interface CapacityAssessment {
  condition: DesiredCondition;
  /** When the condition may change with nothing else changing (a flapping window ending). */
  recheckAt?: Date;
}

const MAX_LISTED = 10;

export function capacityCondition(
  unschedulable: readonly UnschedulablePod[],
  flapping: readonly Flapping[],
  windowMs: number,
): CapacityAssessment {
  const flapText = flapping.map(
    (f) =>
      `HorizontalPodAutoscaler ${f.key.split('/').pop()} changed its desired replicas ${f.changes} times in ${formatDuration(windowMs)} (${f.values.join(' → ')})`,
  );
  const recheckAt = flapping.map((f) => f.oldestExpiresAt).sort((a, b) => a.getTime() - b.getTime())[0];
  if (unschedulable.length > 0) {
    const listed = unschedulable
      .slice(0, MAX_LISTED)
      .map((p) => `${p.name}: ${p.message || 'no message from the scheduler'}`);
    const more = unschedulable.length > MAX_LISTED ? [`and ${unschedulable.length - MAX_LISTED} more`] : [];
    return {
      condition: {
        type: CAPACITY_OK,
        status: 'False',
        reason: 'Unschedulable',
        message: [
          `${unschedulable.length} pod${unschedulable.length === 1 ? '' : 's'} cannot be scheduled: ${[...listed, ...more].join('; ')}`,
          ...flapText,
        ].join('. '),
      },
      ...(recheckAt ? { recheckAt } : {}),
    };
  }
  if (flapping.length > 0) {
    return {
      condition: { type: CAPACITY_OK, status: 'False', reason: 'AutoscalerFlapping', message: flapText.join('; ') },
      recheckAt,
    };
  }
  return {
    condition: {
      type: CAPACITY_OK,
      status: 'True',
      reason: 'Sufficient',
      message: 'every data-plane pod is scheduled and no autoscaler is flapping',
    },
  };
}
