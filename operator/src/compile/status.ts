// Per-object status derived from the diagnostics: Accepted and ResolvedRefs with a reason and a message
// naming the field, for the operator's status writer (docs/architecture.md#the-api).
import type { ConditionType, Diagnostic } from './diagnostics.ts';
import { idKey, type Inventory, type ObjectId } from './intake.ts';

export interface StatusCondition {
  type: ConditionType;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface ObjectStatus extends ObjectId {
  generation: number;
  /** Whether the object made it into the snapshot. */
  accepted: boolean;
  conditions: StatusCondition[];
}

function conditionFor(type: ConditionType, errors: Diagnostic[], positive: string): StatusCondition {
  const mine = errors.filter((d) => (d.condition ?? 'Accepted') === type);
  if (mine.length === 0) return { type, status: 'True', reason: positive, message: '' };
  return {
    type,
    status: 'False',
    reason: mine[0]!.reason ?? 'Invalid',
    message: mine.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message)).join('; '),
  };
}

export function objectStatuses(inventory: Inventory, errors: readonly Diagnostic[]): ObjectStatus[] {
  const byObject = new Map<string, Diagnostic[]>();
  for (const d of errors) {
    if (!d.kind) continue;
    const key = idKey({ kind: d.kind, namespace: d.namespace ?? '', name: d.name ?? '' });
    byObject.set(key, [...(byObject.get(key) ?? []), d]);
  }
  return [...inventory.seen.keys()].sort().map((key) => {
    const { id, generation } = inventory.seen.get(key)!;
    const mine = byObject.get(key) ?? [];
    const resolved = conditionFor('ResolvedRefs', mine, 'ResolvedRefs');
    const accepted = conditionFor('Accepted', mine, 'Accepted');
    // An object left out for its references is not accepted either, and says why. One served despite
    // an unresolved reference (a DeveloperApp whose Developer is missing) stays Accepted.
    const rejected = inventory.rejected.has(key);
    const acceptedFinal =
      accepted.status === 'True' && resolved.status === 'False' && rejected
        ? { ...accepted, status: 'False' as const, reason: 'UnresolvedRefs', message: resolved.message }
        : accepted;
    return { ...id, generation, accepted: !rejected, conditions: [acceptedFinal, resolved] };
  });
}
