// DebugSessions -> the active sessions of the snapshot and each session's outcome (docs/operations.md#debug-sessions).
// Pure: "now" is an input (the operator recompiles at the next expiry, so an expired session leaves
// the snapshot). A session is active while it is accepted, not stopped, not complete (status.captured
// below count, as the operator wrote it) and not past creationTimestamp + timeout. Its filter is an
// Apigee condition, parsed here once; one that does not parse makes the session not Accepted and
// names spec.filter, like any other invalid field.
import type { DebugMask } from '../../../protos/gen/json/gatehouse.v1.ts';
import { debugSessionLimits, durationMs, type DebugMaskSpec, type DebugSessionPhase } from '../api/debugsession.ts';
import { ConditionSyntaxError, parseCondition } from './conditions.ts';
import type { Diagnostic } from './diagnostics.ts';
import { objectKey, type Inventory } from './intake.ts';
import type { IrDebugSession, IrProxy } from './ir.ts';

export interface DebugSessionCondition {
  type: 'Accepted' | 'Active';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** What the debug session controller writes to a DebugSession's status (and requeues on). */
export interface DebugSessionOutcome {
  namespace: string;
  name: string;
  generation: number;
  uid?: string;
  /** Absent while not accepted. */
  phase?: DebugSessionPhase;
  /** RFC 3339; absent without a creationTimestamp (folder mode). */
  startTime?: string;
  expireTime?: string;
  expiresAtMs?: number;
  count: number;
  conditions: DebugSessionCondition[];
  /** In the snapshot: extproc of `dataPlanes` captures for it. */
  active: boolean;
  /** "namespace/name" of the DataPlanes whose view holds it, sorted. */
  dataPlanes: string[];
}

const sortedUnique = (...lists: (readonly string[] | undefined)[]) =>
  [...new Set(lists.flatMap((l) => l ?? []))].sort();

/** The CRD's mask (Apigee's member names) in the snapshot's DebugMask shape, members sorted, empty ones left out. */
export function maskOf(...masks: (DebugMaskSpec | undefined)[]): DebugMask {
  const pick = (key: keyof Omit<DebugMaskSpec, 'namespaces'>) => sortedUnique(...masks.map((m) => m?.[key]));
  const namespaces: Record<string, string> = {};
  // The first mask (the DataPlane's, the environment's) wins a prefix both declare.
  for (const m of [...masks].reverse()) Object.assign(namespaces, m?.namespaces ?? {});
  const out: DebugMask = {
    jsonPathsRequest: pick('requestJSONPaths'),
    jsonPathsResponse: pick('responseJSONPaths'),
    jsonPathsFault: pick('faultJSONPaths'),
    xpathsRequest: pick('requestXPaths'),
    xpathsResponse: pick('responseXPaths'),
    xpathsFault: pick('faultXPaths'),
    namespaces: Object.fromEntries(Object.entries(namespaces).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    variables: pick('variables'),
    headers: sortedUnique(...masks.map((m) => m?.headers?.map((h) => h.toLowerCase()))),
  };
  return Object.fromEntries(
    Object.entries(out).filter(([, v]) => (Array.isArray(v) ? v.length > 0 : Object.keys(v as object).length > 0)),
  );
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The active sessions (IR, sorted by namespace/name) and every DebugSession's outcome but for which
 * DataPlanes hold it (debugSessionOutcomes fills that in once the views are built).
 */
export function resolveDebugSessions(
  inventory: Inventory,
  proxies: readonly IrProxy[],
  now: number | undefined,
  report: (d: Diagnostic) => void,
  previous: readonly Diagnostic[] = [],
): { sessions: IrDebugSession[]; outcomes: DebugSessionOutcome[] } {
  const compiled = new Set(proxies.map((p) => objectKey(p.namespace, p.name)));
  const sessions: IrDebugSession[] = [];
  const outcomes: DebugSessionOutcome[] = [];
  // What intake found wrong with each session (schema, duplicates), for its Accepted message.
  const earlier = new Map<string, string[]>();
  for (const d of previous)
    if (d.kind === 'DebugSession' && d.severity === 'error') {
      const key = objectKey(d.namespace ?? '', d.name ?? '');
      earlier.set(key, [...(earlier.get(key) ?? []), `${d.field ? `${d.field}: ` : ''}${d.message}`]);
    }
  const seenKeys = [...inventory.debugSessionsSeen.keys()].sort();
  for (const seenKey of seenKeys) {
    const { id, generation } = inventory.debugSessionsSeen.get(seenKey)!;
    const key = objectKey(id.namespace, id.name);
    const entry = inventory.debugSessions.get(key);
    const base = { namespace: id.namespace, name: id.name, generation, active: false, dataPlanes: [] as string[] };
    if (!entry) {
      // Failed intake (schema, duplicate): the diagnostics were reported there.
      outcomes.push({
        ...base,
        count: debugSessionLimits.defaultCount,
        conditions: [
          {
            type: 'Accepted',
            status: 'False',
            reason: 'Invalid',
            message: (earlier.get(key) ?? ['the spec is not valid']).join('; '),
          },
          { type: 'Active', status: 'False', reason: 'Invalid', message: 'not accepted' },
        ],
      });
      continue;
    }
    const { spec, metadata } = entry.object;
    const at = { ...entry.origin, kind: 'DebugSession', namespace: id.namespace, name: id.name };
    const problems: string[] = [];
    const error = (
      field: string,
      message: string,
      reason: string,
      code = 'GH_ERR_COMPILE_INVALID',
      severity: Diagnostic['severity'] = 'error',
    ) => {
      report({ severity, code, ...at, field, message, condition: 'Accepted', reason });
      problems.push(`${field}: ${message}`);
    };
    const count = spec.count ?? debugSessionLimits.defaultCount;
    const timeoutMs = durationMs(spec.timeout ?? debugSessionLimits.defaultTimeout);
    let refReason = '';
    if (spec.proxyRef.namespace !== undefined && spec.proxyRef.namespace !== id.namespace) {
      refReason = 'NotAllowed';
      error(
        'spec.proxyRef.namespace',
        `a DebugSession traces an ApiProxy of its own namespace (${id.namespace}) only, not of ${spec.proxyRef.namespace}`,
        refReason,
      );
    } else if (
      !inventory.proxies.has(objectKey(id.namespace, spec.proxyRef.name)) &&
      !inventory.rejected.has(`ApiProxy/${id.namespace}/${spec.proxyRef.name}`)
    ) {
      refReason = 'RefNotFound';
      error('spec.proxyRef.name', `ApiProxy ${id.namespace}/${spec.proxyRef.name} not found`, refReason);
    } else if (!compiled.has(objectKey(id.namespace, spec.proxyRef.name))) {
      refReason = 'RefNotAccepted';
      error('spec.proxyRef.name', `ApiProxy ${id.namespace}/${spec.proxyRef.name} is not accepted`, refReason);
    }
    let filter: IrDebugSession['filter'];
    if (spec.filter !== undefined) {
      try {
        filter = parseCondition(spec.filter);
      } catch (err) {
        if (!(err instanceof ConditionSyntaxError)) throw err;
        error('spec.filter', err.message, 'Invalid', 'GH_ERR_COMPILE_CONDITION');
      }
    }
    if (entry.uid === undefined || metadata.creationTimestamp === undefined) {
      // Folder mode and `gatehouse dev`: no apiserver gives the session an id and a start.
      error(
        'metadata',
        'a DebugSession needs a cluster (metadata.uid and creationTimestamp from the apiserver); folder mode does not run debug sessions',
        'Unsupported',
        // A warning: `gatehouse compile` of a folder holding one still passes (the session is ignored).
        'GH_WARN_DEBUG_SESSION_NEEDS_CLUSTER',
        'warning',
      );
    }
    const uid = entry.uid;
    const started = metadata.creationTimestamp === undefined ? undefined : Date.parse(metadata.creationTimestamp);
    const expiresAtMs = started === undefined ? undefined : started + timeoutMs;
    const times =
      started === undefined || expiresAtMs === undefined
        ? {}
        : { startTime: iso(started), expireTime: iso(expiresAtMs), expiresAtMs };
    if (problems.length > 0) {
      const reason = refReason || (spec.filter !== undefined && filter === undefined ? 'Invalid' : 'Unsupported');
      outcomes.push({
        ...base,
        ...(uid ? { uid } : {}),
        ...times,
        count,
        conditions: [
          { type: 'Accepted', status: 'False', reason, message: problems.join('; ') },
          { type: 'Active', status: 'False', reason: 'NotAccepted', message: 'not accepted' },
        ],
      });
      continue;
    }
    const accepted: DebugSessionCondition = { type: 'Accepted', status: 'True', reason: 'Accepted', message: '' };
    const ended = (phase: DebugSessionPhase, message: string): DebugSessionOutcome => ({
      ...base,
      uid,
      ...times,
      count,
      phase,
      conditions: [accepted, { type: 'Active', status: 'False', reason: phase, message }],
    });
    const captured = Math.min(entry.captured, count);
    if (spec.stopped) outcomes.push(ended('Stopped', `stopped with ${captured} of ${count} transactions captured`));
    else if (entry.phase === 'Completed' || entry.captured >= count)
      outcomes.push(ended('Completed', `captured ${count} of ${count} transactions`));
    else if (entry.phase === 'Expired' || now === undefined || now >= expiresAtMs!)
      outcomes.push(ended('Expired', `timed out with ${captured} of ${count} transactions captured`));
    else if (entry.phase === 'Stopped') outcomes.push(ended('Stopped', `stopped with ${captured} of ${count}`));
    else {
      const proxyMask = inventory.proxies.get(objectKey(id.namespace, spec.proxyRef.name))?.object.spec.debugMask;
      sessions.push({
        id: uid!,
        namespace: id.namespace,
        name: id.name,
        proxy: spec.proxyRef.name,
        ...(filter ? { filter } : {}),
        count,
        expiresAtMs: expiresAtMs!,
        mask: spec.mask,
        ...(proxyMask ? { proxyMask } : {}),
      });
      outcomes.push({
        ...base,
        uid,
        ...times,
        count,
        phase: 'Active',
        // Active is settled once the views are built (debugSessionOutcomes).
        conditions: [accepted],
      });
    }
  }
  return { sessions, outcomes };
}

/** Settles Active for the sessions in the snapshot: True when some DataPlane's view holds it. */
export function debugSessionOutcomes(
  outcomes: readonly DebugSessionOutcome[],
  held: ReadonlyMap<string, string[]>,
): DebugSessionOutcome[] {
  return outcomes.map((o) => {
    if (o.phase !== 'Active') return o;
    const dataPlanes = [...(held.get(objectKey(o.namespace, o.name)) ?? [])].sort();
    const active: DebugSessionCondition =
      dataPlanes.length > 0
        ? { type: 'Active', status: 'True', reason: 'Capturing', message: `captured by ${dataPlanes.join(', ')}` }
        : {
            type: 'Active',
            status: 'False',
            reason: 'NotServed',
            message: 'no DataPlane serves the proxy (its listeners do not admit it)',
          };
    return { ...o, active: dataPlanes.length > 0, dataPlanes, conditions: [...o.conditions, active] };
  });
}
