// Writes an object's status through the status subresource (JSON merge patch, field manager
// `gatehouse`), the way kubebuilder controllers do: conditions per the Kubernetes API conventions
// (lastTransitionTime moves only when a condition's status changes, observedGeneration on each),
// status.observedGeneration for kstatus, and nothing written when the live status already says it.
// The caller computes the desired status from its caches; this module only diffs and writes, so a
// reconcile that runs twice writes once (idempotent).
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../../../lib/log.ts';
import type { EventRecorder, EventTarget } from './events.ts';
import { kinds } from '../api/kinds.ts';
import { resourcePath, type KubeRest } from './rest.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface DesiredCondition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export interface Condition extends DesiredCondition {
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface StatusTarget extends EventTarget {
  metadata: EventTarget['metadata'] & { generation?: number };
  status?: unknown;
}

export interface DesiredStatus {
  conditions: DesiredCondition[];
  /** Any other status members (configVersion, dataPlanes, ...); `undefined` removes a member. */
  [field: string]: unknown;
}

export interface ConditionTransition {
  type: string;
  from: ConditionStatus | undefined;
  /** The live condition's reason before the change. */
  fromReason?: string;
  to: ConditionStatus;
  reason: string;
  message: string;
}

/** Conditions whose False is the healthy state (docs/architecture.md#the-api has none yet; kstatus' Stalled would be one). */
const negativePolarity = new Set(['Stalled', 'Reconciling']);

/**
 * Reasons of a False that is the controller making progress, not a problem (data-plane nodes taking
 * a new snapshot, certificates being issued for a new DataPlane): every edit passes through them, so
 * neither entering nor leaving one is an Event. A sync that does not finish shows as its condition
 * staying False (and the metrics); a rejection has a reason of its own (Rejected).
 */
export const progressingReasons = new Set(['SyncPending', 'Syncing', 'Issuing']);

const maxMessage = 32_768;
const truncate = (s: string) => (s.length <= maxMessage ? s : `${s.slice(0, maxMessage - 3)}...`);

/**
 * The status to write: desired conditions merged over the live ones (keeping lastTransitionTime for
 * unchanged statuses, keeping conditions of types the caller does not own), plus the other members.
 * Pure; exported for tests.
 */
export function mergeStatus(
  live: unknown,
  desired: DesiredStatus,
  generation: number | undefined,
  now: string,
  options: WriteOptions = {},
): { status: Record<string, unknown>; transitions: ConditionTransition[] } {
  const liveStatus = (live && typeof live === 'object' ? live : {}) as Record<string, unknown>;
  const liveConditions = Array.isArray(liveStatus.conditions) ? (liveStatus.conditions as Condition[]) : [];
  const byType = new Map(liveConditions.map((c) => [c.type, c]));
  const transitions: ConditionTransition[] = [];
  const written: Condition[] = desired.conditions.map((d) => {
    const before = byType.get(d.type);
    const unchanged = before?.status === d.status;
    if (!unchanged)
      transitions.push({
        type: d.type,
        from: before?.status,
        ...(before?.reason ? { fromReason: before.reason } : {}),
        to: d.status,
        reason: d.reason,
        message: d.message,
      });
    return {
      type: d.type,
      status: d.status,
      reason: d.reason,
      message: truncate(d.message),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      lastTransitionTime: unchanged && before.lastTransitionTime ? before.lastTransitionTime : now,
    };
  });
  // Each owned condition takes its live one's place, and a new type goes last: the list keeps the
  // order the apiserver has, so another controller's write does not reorder ours, and ours does not
  // reorder theirs (a reordered list compares as changed and wakes every writer of the object).
  const ownedByType = new Map(written.map((c) => [c.type, c]));
  const conditions: Condition[] = liveConditions.map((c) => ownedByType.get(c.type) ?? c);
  for (const c of written) if (!byType.has(c.type)) conditions.push(c);
  const status: Record<string, unknown> = { ...liveStatus };
  for (const [key, value] of Object.entries(desired)) {
    if (key === 'conditions') continue;
    if (value === undefined) delete status[key];
    else status[key] = value;
  }
  status.conditions = conditions;
  if (generation !== undefined && options.observedGeneration !== false) status.observedGeneration = generation;
  return { status, transitions };
}

export interface WriteOptions {
  /**
   * Whether this writer sets status.observedGeneration (kstatus and Argo CD read it as "the
   * controller has seen this generation"). A controller that owns only some conditions of a kind
   * another controller reconciles passes false; its conditions still carry their observedGeneration.
   */
  observedGeneration?: boolean;
}

export interface StatusWriterOptions {
  rest: KubeRest;
  log: Logger;
  events?: EventRecorder;
  fieldManager?: string;
  now?: () => Date;
  /** Called after each successful write (metrics, tests). */
  onWrite?: (target: StatusTarget) => void;
}

export class StatusWriter {
  private readonly options: StatusWriterOptions;

  constructor(options: StatusWriterOptions) {
    this.options = options;
  }

  /**
   * Writes `desired` unless the live status (as the caller's cache has it) already matches. Returns
   * whether it wrote. A write of a stale cache is harmless: the informer delivers the new object and
   * the next reconcile compares again.
   */
  async write(target: StatusTarget, desired: DesiredStatus, options: WriteOptions = {}): Promise<boolean> {
    const now = (this.options.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const { status, transitions } = mergeStatus(target.status, desired, target.metadata.generation, now, options);
    if (isDeepStrictEqual(normalise(status), normalise(target.status))) return false;
    const [group, version] = target.apiVersion.includes('/') ? target.apiVersion.split('/') : ['', target.apiVersion];
    const path = resourcePath({
      group,
      version: version!,
      resource: pluralOf(target.kind),
      namespace: target.metadata.namespace,
      name: target.metadata.name,
      subresource: 'status',
    });
    // Conditions are a list: a merge patch replaces it whole, which is what we want (we merged above).
    // The resourceVersion makes it conditional: several controllers write parts of one object's status
    // from their own caches, and a write based on a stale copy must fail (409, retried with backoff
    // once the cache has caught up) rather than drop what another controller wrote meanwhile.
    const resourceVersion = target.metadata.resourceVersion;
    await this.options.rest.mergePatch(
      path,
      { ...(resourceVersion ? { metadata: { resourceVersion } } : {}), status },
      { query: { fieldManager: this.options.fieldManager ?? 'gatehouse' } },
    );
    this.options.onWrite?.(target);
    for (const e of announcements(transitions)) this.announce(target, e);
    for (const t of transitions)
      this.options.log.debug(
        {
          kind: target.kind,
          namespace: target.metadata.namespace,
          name: target.metadata.name,
          condition: t.type,
          from: t.from,
          to: t.to,
        },
        'condition changed',
      );
    return true;
  }

  private announce(target: StatusTarget, e: Announcement): void {
    const t = e.transition;
    const also = e.also.map((a) => `${a.type} ${a.to}`);
    this.options.events?.event(
      target,
      e.type,
      t.reason || t.type,
      `${t.type}${t.to}`,
      `${t.type} is ${t.to}${t.message ? `: ${t.message}` : ''}${also.length > 0 ? ` (so ${also.join(', ')})` : ''}`,
    );
  }
}

export interface Announcement {
  type: 'Normal' | 'Warning';
  /** The condition whose change is the cause: the first of its kind in the writer's order. */
  transition: ConditionTransition;
  /** Conditions that changed the same way in the same write: consequences, named in the note. */
  also: ConditionTransition[];
}

/**
 * The Events for one write's condition changes: one root cause, one Warning. A write that turns
 * several conditions unhealthy at once (an invalid object: Accepted False, so Programmed and Ready
 * False and Stalled True) says so once, for the first of them in the order the controller lists its
 * conditions (causes before summaries), naming the rest; recoveries likewise get one Normal Event.
 * The first True of a condition is routine and said nowhere, and so is progress (progressingReasons).
 * Pure; exported for tests.
 */
export function announcements(transitions: readonly ConditionTransition[]): Announcement[] {
  const out: Announcement[] = [];
  for (const type of ['Warning', 'Normal'] as const) {
    const same = transitions.filter((t) => {
      const healthy = negativePolarity.has(t.type) ? t.to === 'False' : t.to === 'True';
      if (healthy)
        return (
          type === 'Normal' &&
          t.from === (negativePolarity.has(t.type) ? 'True' : 'False') &&
          !progressingReasons.has(t.fromReason ?? '')
        );
      return type === 'Warning' && !progressingReasons.has(t.reason);
    });
    const [first, ...also] = same;
    if (first) out.push({ type, transition: first, also });
  }
  return out;
}

const plurals = new Map(kinds.map((k) => [k.kind, k.plural]));

function pluralOf(kind: string): string {
  return plurals.get(kind) ?? `${kind.toLowerCase()}s`;
}

/**
 * Order-insensitive comparison of status objects (key order differs between JSON sources); conditions
 * are a map keyed by type (listType map in the CRDs), so their order does not count either.
 */
function normalise(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => normalise(v));
    return key === 'conditions'
      ? items.sort((a, b) => String((a as { type?: string }).type).localeCompare(String((b as { type?: string }).type)))
      : items;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, normalise(v, k)]),
    );
  }
  return value;
}
