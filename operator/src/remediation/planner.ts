// What to do about a DataPlane's zombie pods, now. Pure: the pods with their classification, the
// remediation history (the hourly budget), the PodDisruptionBudgets of the namespace, the eviction
// API's recent refusals and the actions still in flight go in; one decision per zombie comes out:
//
//   evict         the Eviction API (the apiserver enforces every PDB covering the pod)
//   force-delete  DELETE with gracePeriodSeconds 0, only for a pod whose node is NotReady for at
//                 least `forceDeleteAfterMs` or tainted node.kubernetes.io/out-of-service: nobody is
//                 left to run the pod's shutdown, so waiting gains nothing
//   report        dry run: what would be done, recorded once an hour per pod
//   wait          with the reason and, when it is known, when to look again
//
// Rules, in order: an action already in flight is not repeated; a pod the eviction API refused (429,
// its PDB) waits out its backoff; at most `maxEvictionsPerHour` actions within any hour (force
// deletes count: the budget bounds what a wrong diagnosis of ours can do); an action that would take
// a component's Ready pods below `minAvailable` waits. A zombie the kubelet reports not Ready does not
// count as available, so removing it never lowers availability (as a PDB with
// unhealthyPodEvictionPolicy AlwaysAllow); the Ready ones (deep-check failures, a crash loop between
// crashes) do. PDB arithmetic is left to the apiserver, which is the authority on it; the planner
// only refuses what the eviction API cannot do at all (a pod covered by two PDBs answers 500).
import type { ZombieKind, Classification } from './classify.ts';
import { zombieKinds } from './classify.ts';
import { BUDGET_WINDOW_MS, budgetUsage, type RemediationRecord } from './history.ts';
import type { RemediationPolicy } from './policy.ts';
import {
  componentOf,
  formatDuration,
  isReady,
  isTerminating,
  podId,
  rfc3339,
  selectorMatches,
  type NodeHealth,
  type Pod,
  type PodDisruptionBudget,
} from './pods.ts';

export type Remedy = 'evict' | 'force-delete';
export type WaitReason =
  'InProgress' | 'EvictionRefused' | 'MultiplePDBs' | 'BudgetExhausted' | 'MinAvailable' | 'NodeNotReadyTooShort';

export interface PlanPod {
  pod: Pod;
  classification: Classification;
  /** The pod's node, when the cache has it. */
  node?: NodeHealth;
}

/** The eviction API's last refusal of a pod (429: a PDB), and when to ask again. */
export interface Refusal {
  retryAt: Date;
  message: string;
}

export interface PlanInput {
  now: Date;
  policy: Pick<RemediationPolicy, 'dryRun' | 'maxEvictionsPerHour' | 'minAvailable' | 'forceDeleteAfterMs'>;
  /** Every pod of the DataPlane, zombie or not (availability counts them all). */
  pods: PlanPod[];
  history: RemediationRecord[];
  /** The PodDisruptionBudgets of the DataPlane's namespace. */
  pdbs?: PodDisruptionBudget[];
  /** By pod id (uid). */
  refusals?: ReadonlyMap<string, Refusal>;
  /** Pod ids acted upon whose eviction or deletion the cache does not show yet. */
  inProgress?: ReadonlySet<string>;
}

interface Subject {
  pod: Pod;
  zombie: ZombieKind;
  /** The classification's message: why the pod is a zombie. */
  message: string;
}

export type PlannedAction =
  | (Subject & { type: Remedy })
  | (Subject & { type: 'report'; would: Remedy; /** false: already reported within the hour. */ fresh: boolean })
  | (Subject & { type: 'wait'; reason: WaitReason; detail: string; retryAt?: Date });

export interface Plan {
  actions: PlannedAction[];
  /** The earliest time the plan may change with nothing else changing (a NotReady clock, a budget slot, a retry). */
  recheckAt?: Date;
}

const remedyAction = { evict: 'Evict', 'force-delete': 'ForceDelete' } as const;
const dryRunAction = { evict: 'DryRunEvict', 'force-delete': 'DryRunForceDelete' } as const;

export function planRemediation(input: PlanInput): Plan {
  const { now, policy } = input;
  const inProgress = input.inProgress ?? new Set<string>();
  const refusals = input.refusals ?? new Map<string, Refusal>();
  let recheckAt: Date | undefined;
  const later = (d: Date | undefined) => {
    if (d && (!recheckAt || d < recheckAt)) recheckAt = d;
  };

  const reportedWithinHour = new Set(
    input.history
      .filter((r) => r.action.startsWith('DryRun') && Date.parse(r.time) > now.getTime() - BUDGET_WINDOW_MS)
      .map((r) => `${r.pod}|${r.action}`),
  );

  // Ready pods per component that are not on their way out: what minAvailable protects.
  const available = new Map<string, number>();
  for (const p of input.pods) {
    const counts =
      isReady(p.pod) &&
      !isTerminating(p.pod) &&
      !inProgress.has(podId(p.pod)) &&
      // A dry run pretends its earlier reports were acted upon.
      !(
        policy.dryRun &&
        [...Object.values(dryRunAction)].some((a) => reportedWithinHour.has(`${p.pod.metadata.name}|${a}`))
      );
    if (counts) available.set(componentKey(p.pod), (available.get(componentKey(p.pod)) ?? 0) + 1);
  }

  const usage = budgetUsage(input.history, now, policy.dryRun);
  let used = usage.length;
  const budgetFreesAt = usage.length > 0 ? new Date(Date.parse(usage[0]!.time) + BUDGET_WINDOW_MS) : undefined;

  const zombies = input.pods
    .filter(
      (p): p is PlanPod & { classification: { zombie: true; kind: ZombieKind; message: string } } =>
        p.classification.zombie,
    )
    .sort(
      (a, b) =>
        zombieKinds.indexOf(a.classification.kind) - zombieKinds.indexOf(b.classification.kind) ||
        a.pod.metadata.name.localeCompare(b.pod.metadata.name),
    );
  for (const p of input.pods) if (!p.classification.zombie) later(p.classification.recheckAt);

  const actions: PlannedAction[] = [];
  for (const z of zombies) {
    const subject: Subject = { pod: z.pod, zombie: z.classification.kind, message: z.classification.message };
    const wait = (reason: WaitReason, detail: string, retryAt?: Date) => {
      actions.push({ ...subject, type: 'wait', reason, detail, ...(retryAt ? { retryAt } : {}) });
      later(retryAt);
    };
    const id = podId(z.pod);
    if (inProgress.has(id)) {
      wait('InProgress', 'already acted upon; waiting for the apiserver to show it');
      continue;
    }

    const remedy = remedyFor(z, now, policy.forceDeleteAfterMs);
    if (remedy.type === 'wait') {
      wait(remedy.reason, remedy.detail, remedy.retryAt);
      continue;
    }

    if (remedy.type === 'evict') {
      const refusal = refusals.get(id);
      if (refusal && refusal.retryAt > now) {
        wait('EvictionRefused', refusal.message, refusal.retryAt);
        continue;
      }
      const covering = (input.pdbs ?? []).filter(
        (b) =>
          b.metadata.namespace === z.pod.metadata.namespace && selectorMatches(b.spec?.selector, z.pod.metadata.labels),
      );
      if (covering.length > 1) {
        wait(
          'MultiplePDBs',
          `the Eviction API cannot evict a pod covered by more than one PodDisruptionBudget (${covering
            .map((b) => b.metadata.name)
            .sort()
            .join(', ')})`,
        );
        continue;
      }
    }

    if (policy.dryRun && reportedWithinHour.has(`${z.pod.metadata.name}|${dryRunAction[remedy.type]}`)) {
      actions.push({ ...subject, type: 'report', would: remedy.type, fresh: false });
      continue;
    }

    if (used >= policy.maxEvictionsPerHour) {
      const freesAt = policy.maxEvictionsPerHour > 0 ? budgetFreesAt : undefined;
      wait(
        'BudgetExhausted',
        `maxEvictionsPerHour ${policy.maxEvictionsPerHour} used${freesAt ? `; the next slot frees at ${rfc3339(freesAt)}` : ''}`,
        freesAt,
      );
      continue;
    }

    const lowersAvailability = isReady(z.pod) && !isTerminating(z.pod);
    const component = componentKey(z.pod);
    const ready = available.get(component) ?? 0;
    if (lowersAvailability && ready - 1 < policy.minAvailable) {
      wait(
        'MinAvailable',
        `${componentLabel(z.pod)} has ${ready} Ready pod${ready === 1 ? '' : 's'} and minAvailable is ${policy.minAvailable}`,
      );
      continue;
    }

    used++;
    if (lowersAvailability) available.set(component, ready - 1);
    actions.push(
      policy.dryRun
        ? { ...subject, type: 'report', would: remedy.type, fresh: true }
        : { ...subject, type: remedy.type },
    );
  }
  return { actions, ...(recheckAt ? { recheckAt } : {}) };
}

/** The remediation record action of a planned action (undefined for waits and repeated reports). */
export function recordAction(
  action: PlannedAction,
): 'Evict' | 'ForceDelete' | 'DryRunEvict' | 'DryRunForceDelete' | undefined {
  if (action.type === 'evict' || action.type === 'force-delete') return remedyAction[action.type];
  if (action.type === 'report' && action.fresh) return dryRunAction[action.would];
  return undefined;
}

type RemedyChoice = { type: Remedy } | { type: 'wait'; reason: WaitReason; detail: string; retryAt?: Date };

/** Force delete only where no kubelet will ever act; a terminating pod on a merely flaky node waits. */
function remedyFor(
  z: PlanPod & { classification: { zombie: true } },
  now: Date,
  forceDeleteAfterMs: number,
): RemedyChoice {
  const node = z.node;
  if (node && !node.ready) {
    if (node.outOfService) return { type: 'force-delete' };
    const notReadyFor = node.notReadySince ? now.getTime() - node.notReadySince.getTime() : undefined;
    if (notReadyFor !== undefined && notReadyFor >= forceDeleteAfterMs) return { type: 'force-delete' };
    if (isTerminating(z.pod)) {
      const retryAt = node.notReadySince ? new Date(node.notReadySince.getTime() + forceDeleteAfterMs) : undefined;
      return {
        type: 'wait',
        reason: 'NodeNotReadyTooShort',
        retryAt,
        detail: `node ${node.name} is NotReady${retryAt ? `; force delete from ${rfc3339(retryAt)}` : ''} (after ${formatDuration(forceDeleteAfterMs)} NotReady)`,
      };
    }
  } else if (node?.outOfService) {
    return { type: 'force-delete' };
  }
  // Terminating on a node that is fine again: its kubelet finishes the deletion.
  if (isTerminating(z.pod)) return { type: 'wait', reason: 'InProgress', detail: 'terminating on a Ready node' };
  return { type: 'evict' };
}

const componentKey = (pod: Pod) => componentOf(pod) ?? '';
const componentLabel = (pod: Pod) => (componentOf(pod) ? `component ${componentOf(pod)}` : 'the DataPlane');
