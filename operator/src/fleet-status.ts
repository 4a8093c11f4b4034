// `gatehouse status`: the ApiProxies of several regions (kubeconfig contexts) side by side, and whether
// the regions agree (docs/operations.md#comparing-regions-gatehouse-status). Pure: given what each region's apiserver listed, it
// builds the report, renders it as a table or JSON, and chooses the exit code. The command itself
// (operator/src/status-command.ts) only reads the lists.
import { createHash } from 'node:crypto';

/** What one region (context) gave: its ApiProxies as the apiserver returned them, or why it could not. */
export interface RegionInput {
  context: string;
  /** The namespace listed; null with --all-namespaces. */
  namespace: string | null;
  proxies?: readonly unknown[];
  error?: { code: string; message: string };
}

export interface UnsyncedNode {
  name: string;
  lastSyncTime: string | null;
  message: string | null;
}

/** One ApiProxy in one region. */
export interface RegionProxy {
  namespace: string;
  /** The accepted generation: status.lastAccepted.generation, else metadata.generation when Accepted=True. */
  generation: number | null;
  /** A hash of the accepted spec (status.lastAccepted.spec, else the spec when Accepted=True). */
  specHash: string | null;
  accepted: string;
  programmed: string;
  ready: string;
  readyReason: string | null;
  /** status.dataPlanesSynced, "a/b". */
  synced: string | null;
  syncedNodes: number | null;
  totalNodes: number | null;
  oldestUnsynced: UnsyncedNode | null;
}

export interface ProxyReport {
  /** Null when the regions list different namespaces and the proxy is matched by name. */
  namespace: string | null;
  name: string;
  regions: Record<string, RegionProxy>;
  agree: boolean;
  problems: string[];
}

export interface RegionReport {
  context: string;
  namespace: string | null;
  error?: { code: string; message: string };
}

export interface FleetReport {
  regions: RegionReport[];
  proxies: ProxyReport[];
  /** Every region answered and every proxy agrees. */
  agree: boolean;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
}

interface ApiProxyLike {
  metadata?: { name?: string; namespace?: string; generation?: number };
  spec?: unknown;
  status?: {
    conditions?: Condition[];
    lastAccepted?: { generation?: number; spec?: unknown };
    dataPlanesSynced?: string;
    dataPlanes?: { name?: string; synced?: boolean; lastSyncTime?: string; message?: string }[];
  };
}

/** JSON with sorted keys: the same spec hashes the same whatever order the apiserver kept. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonical(spec)).digest('hex').slice(0, 12);
}

/** What one region's ApiProxy object says. */
export function summarize(object: unknown): RegionProxy {
  const o = object as ApiProxyLike;
  const status = o.status ?? {};
  const cond = (type: string) => status.conditions?.find((c) => c.type === type);
  const accepted = cond('Accepted')?.status ?? 'Unknown';
  const last = status.lastAccepted;
  let generation: number | null = null;
  let hash: string | null = null;
  if (last && typeof last.generation === 'number') {
    generation = last.generation;
    hash = specHash(last.spec ?? null);
  } else if (accepted === 'True') {
    generation = o.metadata?.generation ?? null;
    hash = specHash(o.spec ?? null);
  }
  const match = /^(\d+)\/(\d+)$/.exec(status.dataPlanesSynced ?? '');
  const unsynced = (status.dataPlanes ?? []).filter((d) => d.synced === false && d.name);
  const timed = unsynced
    .filter((d) => d.lastSyncTime && !Number.isNaN(Date.parse(d.lastSyncTime)))
    .sort((a, b) => Date.parse(a.lastSyncTime!) - Date.parse(b.lastSyncTime!));
  const oldest = timed[0] ?? unsynced[0];
  return {
    namespace: o.metadata?.namespace ?? '',
    generation,
    specHash: hash,
    accepted,
    programmed: cond('Programmed')?.status ?? 'Unknown',
    ready: cond('Ready')?.status ?? 'Unknown',
    readyReason: cond('Ready')?.reason ?? null,
    synced: status.dataPlanesSynced ?? null,
    syncedNodes: match ? Number(match[1]) : null,
    totalNodes: match ? Number(match[2]) : null,
    oldestUnsynced: oldest
      ? { name: oldest.name!, lastSyncTime: oldest.lastSyncTime ?? null, message: oldest.message ?? null }
      : null,
  };
}

/** Why the regions that answered do not agree on one proxy; empty when they do. */
function problemsOf(contexts: readonly string[], regions: Record<string, RegionProxy>): string[] {
  const problems: string[] = [];
  const present = contexts.filter((c) => regions[c]);
  for (const c of contexts) if (!regions[c]) problems.push(`missing in ${c}`);
  const differs = (label: string, value: (r: RegionProxy) => string) => {
    if (new Set(present.map((c) => value(regions[c]!))).size > 1)
      problems.push(`${label} differs: ${present.map((c) => `${c} ${value(regions[c]!)}`).join(', ')}`);
  };
  for (const c of present)
    if (regions[c]!.specHash === null) problems.push(`${c}: no accepted revision (Accepted ${regions[c]!.accepted})`);
  const withSpec = present.filter((c) => regions[c]!.specHash !== null);
  if (new Set(withSpec.map((c) => regions[c]!.specHash)).size > 1)
    problems.push(
      `accepted spec differs: ${withSpec.map((c) => `${c} generation ${regions[c]!.generation ?? '?'} spec ${regions[c]!.specHash}`).join(', ')}`,
    );
  differs('Programmed', (r) => r.programmed);
  differs('Ready', (r) => `${r.ready}${r.readyReason ? ` (${r.readyReason})` : ''}`);
  for (const c of present) {
    const r = regions[c]!;
    if (r.syncedNodes !== null && r.syncedNodes < r.totalNodes!) {
      const node = r.oldestUnsynced;
      problems.push(
        `${c}: ${r.synced} data-plane nodes synced` +
          (node
            ? `; oldest unsynced ${node.name}${node.lastSyncTime ? ` (last synced ${node.lastSyncTime})` : ''}`
            : ''),
      );
    }
  }
  return problems;
}

/**
 * Matches the proxies of every region and says where they disagree. With one namespace per region
 * (the default: each context's own) proxies are matched by name, so regions may use different
 * namespaces; with --all-namespaces by namespace/name.
 */
export function compareRegions(inputs: readonly RegionInput[], allNamespaces: boolean): FleetReport {
  const reachable = inputs.filter((i) => !i.error).map((i) => i.context);
  const byKey = new Map<string, { namespace: string | null; name: string; regions: Record<string, RegionProxy> }>();
  for (const input of inputs) {
    for (const object of input.proxies ?? []) {
      const name = (object as ApiProxyLike).metadata?.name;
      if (!name) continue;
      const summary = summarize(object);
      const key = allNamespaces ? `${summary.namespace}/${name}` : name;
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { namespace: summary.namespace, name, regions: {} }));
      else if (entry.namespace !== summary.namespace) entry.namespace = null;
      entry.regions[input.context] = summary;
    }
  }
  const proxies = [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, p]) => {
      const problems = problemsOf(reachable, p.regions);
      return { ...p, agree: problems.length === 0, problems };
    });
  return {
    regions: inputs.map((i) => ({
      context: i.context,
      namespace: i.namespace,
      ...(i.error ? { error: i.error } : {}),
    })),
    proxies,
    agree: reachable.length === inputs.length && proxies.every((p) => p.agree),
  };
}

/** 0 every region agrees, 1 they disagree, 2 a region could not be read. */
export function exitCodeOf(report: FleetReport): number {
  if (report.regions.some((r) => r.error)) return 2;
  return report.agree ? 0 : 1;
}

export function renderJson(report: FleetReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function renderTable(report: FleetReport): string {
  const out: string[] = [];
  const contexts = report.regions.filter((r) => !r.error).map((r) => r.context);
  if (report.proxies.length === 0) out.push('No ApiProxies found.');
  else {
    const rows = [
      [
        'APIPROXY',
        'CONTEXT',
        'NAMESPACE',
        'GEN',
        'SPEC',
        'ACCEPTED',
        'PROGRAMMED',
        'READY',
        'SYNCED',
        'OLDEST UNSYNCED',
      ],
    ];
    for (const p of report.proxies) {
      contexts.forEach((c, i) => {
        const r = p.regions[c];
        const label = i === 0 ? (p.namespace === null ? p.name : `${p.namespace}/${p.name}`) : '';
        if (!r) return rows.push([label, c, '-', '-', '-', 'missing', '-', '-', '-', '-']);
        const node = r.oldestUnsynced;
        rows.push([
          label,
          c,
          r.namespace,
          r.generation === null ? '-' : String(r.generation),
          r.specHash ?? '-',
          r.accepted,
          r.programmed,
          `${r.ready}${r.readyReason ? ` ${r.readyReason}` : ''}`,
          r.synced ?? '-',
          node ? `${node.name}${node.lastSyncTime ? ` (${node.lastSyncTime})` : ''}` : '-',
        ]);
      });
    }
    out.push(columns(rows));
  }
  const problems = report.proxies.flatMap((p) =>
    p.problems.map((m) => `  ${p.namespace === null ? p.name : `${p.namespace}/${p.name}`}: ${m}`),
  );
  const errors = report.regions.filter((r) => r.error);
  out.push('');
  for (const r of errors)
    out.push(`context ${r.context}: cannot list ApiProxies: ${r.error!.message} [${r.error!.code}]`);
  if (problems.length > 0) out.push('Regions disagree:', ...problems);
  else if (errors.length === 0) out.push(`All ${report.regions.length} regions agree.`);
  return `${out.join('\n')}\n`;
}
