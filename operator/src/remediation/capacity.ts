// The DataPlane's CapacityOK condition (docs/architecture.md#the-api and 9): False when data-plane pods cannot be placed
// (Pending, PodScheduled=False reason Unschedulable: the scheduler found no node with room), or when an
// autoscaler of the DataPlane is flapping (its desired replica count changed more than `maxChanges`
// times within `windowMs`); True otherwise. The unschedulable check reads the pods as they are; the
// flapping check needs a history of changes, which the HPA's status does not keep: FlapDetector keeps
// it in memory from the HPA informer, and the leader writes it into the DataPlane's
// status.autoscalerChanges (bounded); a restarted operator or a new leader reads it back, so the
// condition survives them. What happened before this process watched comes from the status, what
// happened since from its own observations (every replica sees the same changes at slightly
// different times: they are never merged with each other).
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

export interface Change {
  /** Unix milliseconds. */
  at: number;
  from: number;
  to: number;
}

/** One entry of DataPlane status.autoscalerChanges. */
export interface AutoscalerChangeRecord {
  /** The HorizontalPodAutoscaler's name (in the DataPlane's namespace). */
  autoscaler: string;
  /** RFC 3339, with milliseconds. */
  time: string;
  from: number;
  to: number;
}

/** The most entries status.autoscalerChanges holds (the CRD's maxItems). */
export const MAX_AUTOSCALER_CHANGES = 64;

/** Changes of each autoscaler's desired replica count, in memory, pruned to the window. */
export class FlapDetector {
  private readonly policy: FlapPolicy;
  private readonly last = new Map<string, number>();
  private readonly changes = new Map<string, Change[]>();
  /** By autoscaler: when this process first saw it; earlier changes are known only from the status. */
  private readonly watchingSince = new Map<string, number>();

  constructor(policy: Partial<FlapPolicy> = {}) {
    this.policy = { ...DEFAULT_FLAP_POLICY, ...policy };
  }

  /** Bounded whatever the policy: more than this is flapping many times over. */
  private get kept(): number {
    return 4 * (this.policy.maxChanges + 1);
  }

  /** Records the autoscaler's current desired replicas; a change from the last value seen counts. Returns whether it changed. */
  observe(key: string, desiredReplicas: number | undefined, at: Date): boolean {
    if (!this.watchingSince.has(key)) this.watchingSince.set(key, at.getTime());
    if (desiredReplicas === undefined) return false;
    const before = this.last.get(key);
    this.last.set(key, desiredReplicas);
    if (before === undefined || before === desiredReplicas) return false;
    const list = this.prune(key, at);
    list.push({ at: at.getTime(), from: before, to: desiredReplicas });
    if (list.length > this.kept) list.splice(0, list.length - this.kept);
    this.changes.set(key, list);
    return true;
  }

  /**
   * Takes the changes the status recorded before this process watched the autoscaler (a restart, a
   * new leader); later ones it has observed itself. Idempotent.
   */
  restore(key: string, recorded: readonly Change[], now: Date): void {
    const since = this.watchingSince.get(key) ?? Number.POSITIVE_INFINITY;
    const list = this.prune(key, now);
    const have = new Set(list.map((c) => c.at));
    const earlier = recorded.filter((c) => c.at < since && !have.has(c.at));
    if (earlier.length === 0) return;
    const merged = [...earlier, ...list].sort((a, b) => a.at - b.at);
    const cutoff = now.getTime() - this.policy.windowMs;
    const kept = merged.filter((c) => c.at > cutoff).slice(-this.kept);
    if (kept.length > 0) this.changes.set(key, kept);
  }

  /** The changes within the window at `now`, oldest first. */
  recent(key: string, now: Date): readonly Change[] {
    return this.prune(key, now);
  }

  forget(key: string): void {
    this.last.delete(key);
    this.changes.delete(key);
    this.watchingSince.delete(key);
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

/** Well-formed entries of a DataPlane status.autoscalerChanges, by autoscaler name (anything else is dropped). */
export function readAutoscalerChanges(status: unknown): Map<string, Change[]> {
  const list = (status as { autoscalerChanges?: unknown } | undefined)?.autoscalerChanges;
  const byName = new Map<string, Change[]>();
  if (!Array.isArray(list)) return byName;
  for (const r of list as Partial<AutoscalerChangeRecord>[]) {
    const at = typeof r?.time === 'string' ? Date.parse(r.time) : Number.NaN;
    if (typeof r?.autoscaler !== 'string' || Number.isNaN(at) || !Number.isInteger(r.from) || !Number.isInteger(r.to))
      continue;
    if (!byName.has(r.autoscaler)) byName.set(r.autoscaler, []);
    byName.get(r.autoscaler)!.push({ at, from: r.from!, to: r.to! });
  }
  return byName;
}

/** The status entries for some autoscalers' changes: oldest first, the newest MAX_AUTOSCALER_CHANGES kept. */
export function autoscalerChangeRecords(changes: ReadonlyMap<string, readonly Change[]>): AutoscalerChangeRecord[] {
  return [...changes]
    .flatMap(([autoscaler, list]) =>
      list.map((c) => ({ autoscaler, time: new Date(c.at).toISOString(), from: c.from, to: c.to })),
    )
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || a.autoscaler.localeCompare(b.autoscaler))
    .slice(-MAX_AUTOSCALER_CHANGES);
}
