// The DataPlane condition of remediation, PodsHealthy: True when no data-plane pod is a zombie;
// False/ZombiePods naming each zombie, why it is one and what is being done about it (evicted, waiting
// for the budget, dry run, ...). Kubernetes' own Ready conditions cannot say this: a deep-check zombie
// is Ready to the kubelet. Messages hold times, never ages, so re-evaluating an unchanged situation
// writes nothing. Pure.
import type { DesiredCondition } from '../kube/status-writer.ts';
import type { ZombieKind } from './classify.ts';
import type { PlannedAction } from './planner.ts';

export const PODS_HEALTHY = 'PodsHealthy';

export interface ZombieReport {
  pod: string;
  kind: ZombieKind;
  message: string;
  /** What is done about it: "evicted", "waiting (MinAvailable: ...)", "dry run: would evict". */
  disposition: string;
}

/** How an executed action ended, for the condition and the Events. */
export type Outcome =
  | { result: 'done' }
  | { result: 'refused'; message: string }
  | { result: 'failed'; message: string }
  | { result: 'gone' };

const MAX_LISTED = 10;

export function disposition(action: PlannedAction, outcome?: Outcome): string {
  switch (action.type) {
    case 'wait':
      return `waiting (${action.reason}: ${action.detail})`;
    case 'report':
      return `dry run: would ${action.would === 'evict' ? 'evict' : 'force-delete'}`;
    default: {
      const verb = action.type === 'evict' ? 'evict' : 'force-delete';
      if (!outcome || outcome.result === 'done') return action.type === 'evict' ? 'evicted' : 'force-deleted';
      if (outcome.result === 'gone') return 'already gone';
      if (outcome.result === 'refused') return `waiting (EvictionRefused: ${outcome.message})`;
      return `${verb} failed: ${outcome.message}`;
    }
  }
}

export function podsHealthyCondition(zombies: readonly ZombieReport[], enabled: boolean): DesiredCondition {
  if (zombies.length === 0)
    return { type: PODS_HEALTHY, status: 'True', reason: 'NoZombies', message: 'no data-plane pod is a zombie' };
  const sorted = [...zombies].sort((a, b) => a.pod.localeCompare(b.pod));
  const listed = sorted
    .slice(0, MAX_LISTED)
    .map(
      (z) =>
        `${z.pod} (${z.kind}: ${z.message}): ${enabled ? z.disposition : 'not remediated, spec.remediation.enabled is false'}`,
    );
  if (sorted.length > MAX_LISTED) listed.push(`and ${sorted.length - MAX_LISTED} more`);
  return {
    type: PODS_HEALTHY,
    status: 'False',
    reason: 'ZombiePods',
    message: `${zombies.length} zombie pod${zombies.length === 1 ? '' : 's'}: ${listed.join('; ')}`,
  };
}
