// DataPlane status.remediations[]: what remediation did (or, in dry run, would have done), newest
// last, at most 32 entries (the CRD's maxItems). It is also the memory of the eviction budget: the
// entries of the last hour are what `maxEvictionsPerHour` counts, so a restarted operator (or a new
// leader) keeps the budget without any state of its own. Pure.
export type RemediationAction = 'Evict' | 'ForceDelete' | 'DryRunEvict' | 'DryRunForceDelete';

export interface RemediationRecord {
  /** RFC 3339. */
  time: string;
  pod: string;
  /** "<zombie kind>: <why>", at most 1024 characters. */
  reason: string;
  action: RemediationAction | (string & {});
}

export const MAX_RECORDS = 32;
export const MAX_REASON = 1024;
export const BUDGET_WINDOW_MS = 60 * 60_000;

const realActions = new Set<string>(['Evict', 'ForceDelete']);
const dryRunActions = new Set<string>(['DryRunEvict', 'DryRunForceDelete']);

export function record(time: Date, pod: string, reason: string, action: RemediationAction): RemediationRecord {
  return {
    time: time.toISOString(),
    pod,
    reason: reason.length <= MAX_REASON ? reason : `${reason.slice(0, MAX_REASON - 3)}...`,
    action,
  };
}

const keyOf = (r: RemediationRecord) => `${Date.parse(r.time)}|${r.pod}|${r.action}`;

/** Well-formed entries of a status (anything else there is dropped, not trusted). */
export function readRecords(status: unknown): RemediationRecord[] {
  const list = (status as { remediations?: unknown } | undefined)?.remediations;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (r): r is RemediationRecord =>
      typeof r === 'object' &&
      r !== null &&
      typeof (r as RemediationRecord).time === 'string' &&
      !Number.isNaN(Date.parse((r as RemediationRecord).time)) &&
      typeof (r as RemediationRecord).pod === 'string' &&
      typeof (r as RemediationRecord).action === 'string' &&
      typeof (r as RemediationRecord).reason === 'string',
  );
}

/**
 * The union of several lists (the live status and what this process did, which a concurrent status
 * write of another controller may have dropped), oldest first, the newest MAX_RECORDS kept.
 */
export function mergeRecords(...lists: RemediationRecord[][]): RemediationRecord[] {
  const byKey = new Map<string, RemediationRecord>();
  for (const list of lists) for (const r of list) if (!byKey.has(keyOf(r))) byKey.set(keyOf(r), r);
  return [...byKey.values()]
    .sort(
      (a, b) =>
        Date.parse(a.time) - Date.parse(b.time) || a.pod.localeCompare(b.pod) || a.action.localeCompare(b.action),
    )
    .slice(-MAX_RECORDS);
}

/**
 * The entries that count against the hourly budget at `now`: real evictions and force deletes (dry
 * run: the reports, so a dry run shows what the budget would allow). Oldest first.
 */
export function budgetUsage(records: RemediationRecord[], now: Date, dryRun: boolean): RemediationRecord[] {
  const counted = dryRun ? dryRunActions : realActions;
  const since = now.getTime() - BUDGET_WINDOW_MS;
  // Entries from the future (another replica's clock ahead of ours) count too: the budget errs on the safe side.
  return records
    .filter((r) => counted.has(r.action) && Date.parse(r.time) > since)
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}
