// Reads the test apiserver's audit log (controlplane.ts writes one event per request, level Metadata)
// and compares what an identity did with what its RBAC rules grant: the calls it was refused, and the
// grants it never used. The RBAC exactness test is built on these two.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestEnvTimeoutError } from './errors.ts';

/** One request, as the audit log records it. */
export interface AuditRecord {
  username: string;
  verb: string;
  /** '' for the core group. */
  apiGroup: string;
  /** '' for a non-resource request (then `path` is set). */
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** HTTP status of the response; 0 when the log has none. */
  code: number;
  /** The request URI (path and query). */
  uri: string;
  /** A non-resource URL (/api, /version, /healthz): the path, else ''. */
  path: string;
  /** When the request was received (RFC 3339 with microseconds). */
  time: string;
}

/** One RBAC policy rule, as in a ClusterRole (charts/gatehouse/files/clusterrole-rules.yaml). */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Grant {
  apiGroup: string;
  /** `resource` or `resource/subresource`, as the rule names it. */
  resource: string;
  verb: string;
}

export interface RbacUsage {
  /** Requests answered 403 Forbidden. */
  denied: AuditRecord[];
  /** Every (apiGroup, resource, verb) a rule grants that no allowed request used. */
  unusedGrants: Grant[];
}

interface AuditEvent {
  auditID?: string;
  stage?: string;
  verb?: string;
  requestURI?: string;
  user?: { username?: string };
  impersonatedUser?: { username?: string };
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
}

/**
 * The completed requests of `username` in the audit log at `path`, oldest first; with `since`, only
 * those received at or after it; with stage 'ResponseStarted', the long-running ones (watches) as they begin.
 */
export function readAudit(
  path: string,
  filter: { username: string; since?: Date; stage?: 'ResponseComplete' | 'ResponseStarted' },
): AuditRecord[] {
  if (!existsSync(path)) return [];
  const since = filter.since?.getTime();
  const records: AuditRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      continue; // A line being written right now.
    }
    // Only completed requests (a watch also logs ResponseStarted, and a panic logs Panic); or, asked
    // for, only started ones: a watch that is still open has no ResponseComplete yet.
    if (event.stage !== (filter.stage ?? 'ResponseComplete')) continue;
    const username = event.impersonatedUser?.username ?? event.user?.username ?? '';
    if (username !== filter.username) continue;
    const time = event.requestReceivedTimestamp ?? '';
    if (since !== undefined && Date.parse(time) < since) continue;
    records.push(toRecord(event, username, time));
  }
  return records;
}

function toRecord(event: AuditEvent, username: string, time: string): AuditRecord {
  const ref = event.objectRef;
  const uri = event.requestURI ?? '';
  return {
    username,
    verb: event.verb ?? '',
    apiGroup: ref?.apiGroup ?? '',
    resource: ref?.resource ?? '',
    subresource: ref?.subresource ?? '',
    namespace: ref?.namespace ?? '',
    name: ref?.name ?? '',
    code: event.responseStatus?.code ?? 0,
    uri,
    path: ref?.resource ? '' : uri.split('?')[0]!,
    time,
  };
}

/**
 * Polls the audit log until `done(records)` holds (an event lands as its response completes, so a
 * test that has just made a call may need a moment), then returns the records. Throws on timeout.
 */
export async function waitForAudit(
  path: string,
  filter: { username: string; since?: Date },
  done: (records: AuditRecord[]) => boolean,
  timeoutMs = 10_000,
): Promise<AuditRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = readAudit(path, filter);
    if (done(records)) return records;
    if (Date.now() > deadline) {
      throw new TestEnvTimeoutError(
        `audit log ${path}: the expected requests of ${filter.username} did not appear within ${timeoutMs} ms (${records.length} found)`,
      );
    }
    await sleep(50);
  }
}

/**
 * How many requests of `username` (received at or after `since`) have a ResponseStarted event but no
 * ResponseComplete yet: watches still open, or ended and not yet logged (the apiserver logs a watch
 * as complete when it notices the client has gone, which takes its time on a loaded machine).
 */
export function openWatches(path: string, filter: { username: string; since?: Date }): number {
  if (!existsSync(path)) return 0;
  const since = filter.since?.getTime();
  const open = new Set<string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      continue; // A line being written right now.
    }
    const username = event.impersonatedUser?.username ?? event.user?.username ?? '';
    if (username !== filter.username || event.auditID === undefined) continue;
    if (since !== undefined && Date.parse(event.requestReceivedTimestamp ?? '') < since) continue;
    if (event.stage === 'ResponseStarted') open.add(event.auditID);
    else if (event.stage === 'ResponseComplete') open.delete(event.auditID);
  }
  return open.size;
}

function grants(rules: PolicyRule[]): Grant[] {
  const out: Grant[] = [];
  for (const rule of rules) {
    for (const apiGroup of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) out.push({ apiGroup, resource, verb });
      }
    }
  }
  return out;
}

function covers(grant: Grant, record: AuditRecord): boolean {
  if (record.resource === '') return false;
  const resource = record.subresource ? `${record.resource}/${record.subresource}` : record.resource;
  const groupOk = grant.apiGroup === '*' || grant.apiGroup === record.apiGroup;
  const verbOk = grant.verb === '*' || grant.verb === record.verb;
  const resourceOk =
    grant.resource === '*' ||
    grant.resource === resource ||
    // RBAC's `*/status` form: any resource's subresource.
    (grant.resource.startsWith('*/') && record.subresource !== '' && grant.resource.slice(2) === record.subresource);
  return groupOk && verbOk && resourceOk;
}

/**
 * What `records` (one identity's requests) say about `rules` (its grants): the requests refused with
 * 403, and the grants no allowed request used. Non-resource requests (discovery, /version) count as
 * denied when refused but use no resource grant.
 */
export function rbacUsage(records: AuditRecord[], rules: PolicyRule[]): RbacUsage {
  const denied = records.filter((r) => r.code === 403);
  const allowed = records.filter((r) => r.code !== 403);
  const unusedGrants = grants(rules).filter((g) => !allowed.some((r) => covers(g, r)));
  return { denied, unusedGrants };
}
