// The status each object of our kinds should have (docs/architecture.md#the-api), computed from what compile made of it and
// from what the data-plane nodes run. Pure: the status controller diffs the result against the live
// object and writes only differences.
//
// ApiProxy dataPlanes[].version is the proxy's own revision (a hash of its runtime entry and Envoy
// cluster), not the snapshot version: an edit to one proxy then rewrites one status, not a thousand,
// and "synced" still means "this node runs exactly what this generation compiled to".
import { createHash } from 'node:crypto';
import { parseNodeCluster } from '../api/names.ts';
import type { Snapshot } from '../compile/compile.ts';
import type { NodeStatus } from '../xds/node-registry.ts';
import type { ObjectOutcome } from './last-accepted.ts';
import type { DesiredCondition, DesiredStatus } from '../kube/status-writer.ts';

/** Per proxy ("namespace/name"), the hash of what it compiled to. */
export type ProxyRevisions = ReadonlyMap<string, string>;

export function proxyRevisions(snapshot: Snapshot): Map<string, string> {
  const clusters = new Map(snapshot.envoy.clusters.map((c) => [c.name, c]));
  const endpoints = new Map(snapshot.envoy.endpoints.map((e) => [e.cluster_name, e]));
  const out = new Map<string, string>();
  for (const p of snapshot.runtime.proxies ?? []) {
    const key = `${p.namespace}/${p.name}`;
    const digest = createHash('sha256')
      .update(JSON.stringify(p))
      .update(JSON.stringify(clusters.get(key) ?? null))
      .update(JSON.stringify(endpoints.get(key) ?? null));
    out.set(key, digest.digest('hex').slice(0, 16));
  }
  return out;
}

/** The per-proxy revisions of recently published snapshots, so a node's synced snapshot version can be read per proxy. */
export class RevisionHistory {
  private readonly versions = new Map<string, Map<string, string>>();
  private readonly limit: number;

  constructor(limit = 64) {
    this.limit = limit;
  }

  record(version: string, revisions: Map<string, string>): void {
    // Kept with the previous version's strings where they are equal: 64 versions of 1,000 proxies
    // otherwise hold 64 copies of every name and of every unchanged revision (10 MB).
    let last: Map<string, string> | undefined;
    for (const held of this.versions.values()) last = held;
    const kept = new Map<string, string>();
    if (last)
      for (const [proxy, revision] of last) {
        const now = revisions.get(proxy);
        if (now !== undefined) kept.set(proxy, now === revision ? revision : now);
      }
    for (const [proxy, revision] of revisions) if (!kept.has(proxy)) kept.set(proxy, revision);
    this.versions.delete(version);
    this.versions.set(version, kept);
    while (this.versions.size > this.limit) this.versions.delete(this.versions.keys().next().value!);
  }

  revision(version: string | undefined, proxy: string): string | undefined {
    return version === undefined ? undefined : this.versions.get(version)?.get(proxy);
  }

  knows(version: string | undefined): boolean {
    return version !== undefined && this.versions.has(version);
  }
}

export interface StatusInputs {
  /** The published snapshot version. */
  version: string;
  /** Nodes that run this configuration (data-plane nodes of every DataPlane). */
  nodes: readonly NodeStatus[];
  history: RevisionHistory;
  revisions: ProxyRevisions;
  /**
   * Per proxy, the DataPlanes ("namespace/name") whose listeners serve it (servedBy): only their nodes
   * report on it. Absent: every node does.
   */
  servedBy?: ServedBy;
}

/** Per proxy, the DataPlanes serving it, and how many DataPlanes there are (a node of none gets the only one's view). */
export interface ServedBy {
  proxies: ReadonlyMap<string, ReadonlySet<string>>;
  dataPlanes: number;
}

export function servedBy(snapshot: Snapshot): ServedBy {
  const proxies = new Map<string, Set<string>>();
  for (const view of snapshot.dataPlanes)
    for (const p of view.runtime.proxies ?? []) {
      const key = `${p.namespace}/${p.name}`;
      proxies.set(key, (proxies.get(key) ?? new Set()).add(view.dataPlane));
    }
  return { proxies, dataPlanes: snapshot.dataPlanes.length };
}

/** Whether `node` is served `proxy` (xds/snapshot-cache.ts picks its view the same way). */
function nodeServes(node: NodeStatus, proxy: string, served: ServedBy | undefined): boolean {
  if (!served) return true;
  const dataPlanes = served.proxies.get(proxy);
  if (!dataPlanes) return false;
  const ref = parseNodeCluster(node.cluster);
  if (ref) return dataPlanes.has(`${ref.namespace}/${ref.dataPlane}`);
  return served.dataPlanes === 1;
}

const maxDataPlaneEntries = 64;

function condition(
  type: string,
  status: DesiredCondition['status'],
  reason: string,
  message: string,
): DesiredCondition {
  return { type, status, reason, message };
}

function programmed(outcome: ObjectOutcome, revision: string | undefined): DesiredCondition {
  // No snapshot version here: it changes with every edit anywhere, and would rewrite every status.
  const what = revision ? `revision ${revision}` : 'the served configuration';
  if (outcome.servingGeneration === undefined) {
    return condition('Programmed', 'False', 'NotAccepted', 'not in the served configuration: see Accepted');
  }
  if (outcome.servingGeneration !== outcome.generation) {
    return condition(
      'Programmed',
      'True',
      'ServingPreviousGeneration',
      `generation ${outcome.servingGeneration}, the last accepted one, keeps serving (${what}); generation ${outcome.generation} is not accepted`,
    );
  }
  return condition('Programmed', 'True', 'Programmed', `generation ${outcome.generation} is in ${what}`);
}

interface DataPlaneEntry {
  name: string;
  version?: string;
  synced: boolean;
  lastSyncTime?: string;
  message?: string;
}

/** The NACK the node holds against the current snapshot, if any. */
function nackOf(node: NodeStatus, version: string): string | undefined {
  for (const [type, t] of Object.entries(node.types)) {
    if (t.lastNack && t.lastNack.version === version && t.ackedVersion !== version)
      return `${type} rejected: ${t.lastNack.message}`;
  }
  return undefined;
}

export function dataPlaneEntries(
  proxy: string,
  inputs: StatusInputs,
): { entries: DataPlaneEntry[]; synced: number; total: number } {
  const want = inputs.revisions.get(proxy);
  const all = [...inputs.nodes]
    .filter((node) => nodeServes(node, proxy, inputs.servedBy))
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((node): DataPlaneEntry => {
      const runs = inputs.history.revision(node.syncedVersion, proxy);
      const synced = want !== undefined && runs === want;
      const nack = nackOf(node, inputs.version);
      return {
        name: node.id,
        ...(runs ? { version: runs } : {}),
        synced,
        ...(synced && node.syncedAt ? { lastSyncTime: node.syncedAt.replace(/\.\d{3}Z$/, 'Z') } : {}),
        ...(nack
          ? { message: nack }
          : !synced && !inputs.history.knows(node.syncedVersion) && node.syncedVersion
            ? { message: `runs snapshot ${node.syncedVersion}, older than this operator knows` }
            : {}),
      };
    });
  return { entries: all.slice(0, maxDataPlaneEntries), synced: all.filter((e) => e.synced).length, total: all.length };
}

/**
 * Desired status of an ApiProxy, ApiPolicy, ApiProduct, Developer or DeveloperApp. (DataPlane status is the DataPlane
 * controller's; it merges `compileConditions` of its outcome.)
 */
export function desiredStatus(kind: string, outcome: ObjectOutcome, inputs: StatusInputs): DesiredStatus {
  const [accepted, resolved] = compileConditions(outcome);
  const key = `${outcome.id.namespace}/${outcome.id.name}`;
  const prog = programmed(outcome, kind === 'ApiProxy' ? inputs.revisions.get(key) : undefined);
  const base = accepted.status === 'True' && prog.status === 'True';
  if (kind !== 'ApiProxy') {
    // Served with a reference that does not resolve (a DeveloperApp waiting for its Developer): not Ready.
    const ready = base
      ? resolved.status === 'False'
        ? condition('Ready', 'False', resolved.reason, resolved.message)
        : condition('Ready', 'True', 'Ready', prog.message)
      : condition(
          'Ready',
          'False',
          accepted.status === 'True' ? prog.reason : accepted.reason,
          accepted.status === 'True' ? prog.message : accepted.message,
        );
    return { conditions: [accepted, resolved, prog, ready, stalled(accepted)] };
  }
  const { entries, synced, total } =
    prog.status === 'True' ? dataPlaneEntries(key, inputs) : { entries: [], synced: 0, total: 0 };
  let ready: DesiredCondition;
  if (!base) {
    ready = condition(
      'Ready',
      'False',
      accepted.status === 'True' ? prog.reason : accepted.reason,
      accepted.status === 'True' ? prog.message : accepted.message,
    );
  } else if (total === 0) {
    // Programmed is not serving: with no data-plane node connected, no request reaches this proxy.
    ready = condition(
      'Ready',
      'False',
      'NoDataPlaneConnected',
      'programmed, but no data-plane node is connected: no Envoy serves this proxy',
    );
  } else if (synced === total) {
    ready = condition('Ready', 'True', 'Synced', `every data-plane node (${total}) runs this generation`);
  } else {
    const behind = entries.filter((e) => !e.synced).map((e) => (e.message ? `${e.name} (${e.message})` : e.name));
    ready = condition(
      'Ready',
      'False',
      entries.some((e) => e.message?.includes('rejected')) ? 'Rejected' : 'SyncPending',
      `${total - synced} of ${total} data-plane nodes do not run this generation yet: ${behind.slice(0, 5).join(', ')}${behind.length > 5 ? ', ...' : ''}`,
    );
  }
  return {
    conditions: [accepted, resolved, prog, ready, stalled(accepted)],
    dataPlanes: entries,
    dataPlanesSynced: `${synced}/${total}`,
  };
}

/**
 * Reasons of Accepted=False that only a change of the object itself can clear. A missing reference is
 * not one of them: creating the referenced object fixes it.
 */
const stalledReasons = new Set([
  'Invalid',
  'Duplicate',
  'Conflicted',
  'NotAllowedByListeners',
  'InvalidCondition',
  'DuplicateCredential',
  'DuplicateEmail',
  'UnsupportedType',
]);

/**
 * kstatus' Stalled (docs/operations.md): True when the object cannot progress until its owner changes
 * it, so Flux, Argo CD and `kstatus` report Failed at once instead of waiting for a timeout.
 */
function stalled(accepted: DesiredCondition): DesiredCondition {
  return accepted.status === 'False' && stalledReasons.has(accepted.reason)
    ? condition('Stalled', 'True', accepted.reason, accepted.message)
    : condition('Stalled', 'False', 'Progressing', '');
}

/** Accepted and ResolvedRefs of the current generation, as compile wrote them. */
export function compileConditions(outcome: ObjectOutcome): [DesiredCondition, DesiredCondition] {
  const find = (type: string) => outcome.conditions.find((c) => c.type === type);
  const accepted = find('Accepted') ?? { type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: '' };
  const resolved = find('ResolvedRefs') ?? {
    type: 'ResolvedRefs',
    status: 'True' as const,
    reason: 'ResolvedRefs',
    message: '',
  };
  let acceptedMessage = accepted.message;
  if (
    accepted.status === 'False' &&
    outcome.servingGeneration !== undefined &&
    outcome.servingGeneration !== outcome.generation
  ) {
    acceptedMessage = `${accepted.message}; generation ${outcome.servingGeneration}, the last accepted one, keeps serving`;
  }
  return [
    { type: 'Accepted', status: accepted.status, reason: accepted.reason, message: acceptedMessage },
    { type: 'ResolvedRefs', status: resolved.status, reason: resolved.reason, message: resolved.message },
  ];
}
