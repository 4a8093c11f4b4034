// `gatehouse trace start|get|stop` (docs/operations.md#debug-sessions): Apigee's debug sessions from
// the command line. start creates a DebugSession on an ApiProxy and prints its name; get prints what
// it captured, one step-by-step timeline per transaction (each policy, its outcome, the variables it
// read and set, the message before and after, timings) or the same as JSON; stop sets spec.stopped.
// The captures are the Secrets the operator stored (type gatehouse.dev/debug-capture), read with the
// caller's own credentials: whoever may read Secrets of the namespace may read its traces.
import { randomBytes } from 'node:crypto';
import { GatehouseError } from '../../lib/errors.ts';
import { apiVersion } from './api/common.ts';
import type { TraceCommandOptions } from './command.ts';
import { listCaptures } from './controllers/debug-sessions.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { isNotFound, KubeRest, resourcePath } from './kube/rest.ts';
import type { DebugTransaction } from './xds/protos.ts';

/** No DebugSession of that name or id in the namespace. Exit 1. */
export class TraceNotFoundError extends GatehouseError {
  constructor(namespace: string, id: string) {
    super('GH_ERR_TRACE_NOT_FOUND', `no DebugSession "${id}" in namespace ${namespace} (by name or uid)`);
  }
}

interface SessionObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; creationTimestamp?: string };
  spec: { proxyRef: { name: string }; filter?: string; count?: number; timeout?: string; stopped?: boolean };
  status?: {
    phase?: string;
    captured?: number;
    startTime?: string;
    expireTime?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const sessionsPath = (namespace: string, name?: string) =>
  resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'debugsessions', namespace, name });

async function findSession(rest: KubeRest, namespace: string, id: string): Promise<SessionObject> {
  try {
    return await rest.get<SessionObject>(sessionsPath(namespace, id));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  // Not a name: perhaps the id (metadata.uid) extproc and the operator know it by.
  const list = await rest.list<SessionObject>(sessionsPath(namespace));
  const found = list.items.find((s) => s.metadata.uid === id);
  if (!found) throw new TraceNotFoundError(namespace, id);
  return found;
}

export interface TraceOutput {
  write(text: string): unknown;
}

export async function runTrace(o: TraceCommandOptions, out: TraceOutput = process.stdout): Promise<number> {
  const kc = loadKubeConfig({ kubeconfig: o.kubeconfig, context: o.context });
  const namespace = o.namespace ?? (kc.getContextObject(kc.getCurrentContext())?.namespace || 'default');
  const rest = new KubeRest(kc, { userAgent: 'gatehouse-trace', timeoutMs: o.requestTimeout });
  try {
    if (o.action === 'start') {
      const name = o.name ?? `${o.subject.slice(0, 240)}-${randomBytes(3).toString('hex')}`;
      const created = await rest.create<SessionObject>(sessionsPath(namespace), {
        apiVersion,
        kind: 'DebugSession',
        metadata: { name, namespace },
        spec: {
          proxyRef: { name: o.subject },
          ...(o.filter !== undefined ? { filter: o.filter } : {}),
          ...(o.count !== undefined ? { count: o.count } : {}),
          ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
        },
      });
      out.write(`${created.metadata.namespace}/${created.metadata.name}\n`);
      return 0;
    }
    const session = await findSession(rest, namespace, o.subject);
    if (o.action === 'stop') {
      await rest.mergePatch(sessionsPath(namespace, session.metadata.name), {
        metadata: { uid: session.metadata.uid },
        spec: { stopped: true },
      });
      out.write(`${namespace}/${session.metadata.name} stopped\n`);
      return 0;
    }
    const captures = await listCaptures(rest, namespace, session.metadata.uid);
    const transactions = captures.map((c) => c.transaction);
    out.write(o.output === 'json' ? renderTraceJson(session, transactions) : renderTrace(session, transactions));
    return 0;
  } finally {
    rest.close();
  }
}

export function renderTraceJson(session: SessionObject, transactions: readonly DebugTransaction[]): string {
  const { metadata, spec, status } = session;
  return `${JSON.stringify(
    {
      session: {
        namespace: metadata.namespace,
        name: metadata.name,
        id: metadata.uid,
        proxy: spec.proxyRef.name,
        ...(spec.filter ? { filter: spec.filter } : {}),
        count: spec.count ?? 10,
        phase: status?.phase ?? '',
        captured: status?.captured ?? 0,
        startTime: status?.startTime,
        expireTime: status?.expireTime,
        conditions: status?.conditions ?? [],
      },
      transactions,
    },
    null,
    2,
  )}\n`;
}

const ms = (us: number | string | undefined) => `${(Number(us ?? 0) / 1000).toFixed(3)}ms`;
const vars = (label: string, list: readonly { name: string; value: string }[] | undefined, indent: string) =>
  (list ?? []).map((v) => `${indent}${label} ${v.name} = ${v.value}`);

function message(label: string, m: DebugTransaction['points'][number]['messageBefore'], indent: string): string[] {
  if (!m) return [];
  const first =
    m.method || m.path ? `${m.method} ${m.path}`.trim() : m.status ? `status ${m.status}` : '(no start line)';
  const lines = [`${indent}${label} ${first}`];
  for (const h of m.headers ?? []) lines.push(`${indent}  ${h.name}: ${h.value}`);
  if (m.body)
    lines.push(
      `${indent}  body${m.bodyBase64 ? ' (base64)' : ''}${m.bodyTruncated ? ' (truncated)' : ''}: ${m.body.length > 2000 ? `${m.body.slice(0, 2000)}...` : m.body}`,
    );
  return lines;
}

/** The session and, per transaction, its timeline: one line per point, with what it read, set and changed. */
export function renderTrace(session: SessionObject, transactions: readonly DebugTransaction[]): string {
  const { metadata, spec, status } = session;
  const count = spec.count ?? 10;
  const lines = [
    `DebugSession ${metadata.namespace}/${metadata.name} (id ${metadata.uid})`,
    `  proxy:    ${spec.proxyRef.name}`,
    `  filter:   ${spec.filter ?? '(every transaction)'}`,
    `  phase:    ${status?.phase ?? '(pending)'}; captured ${status?.captured ?? 0} of ${count}`,
    ...(status?.expireTime ? [`  expires:  ${status.expireTime}`] : []),
  ];
  for (const c of status?.conditions ?? [])
    if (c.status !== 'True') lines.push(`  ${c.type}: ${c.status} ${c.reason}${c.message ? `: ${c.message}` : ''}`);
  if (transactions.length === 0) lines.push('', 'No transactions captured yet.');
  transactions.forEach((t, i) => {
    const started = Number(t.startedAtMs ?? 0);
    const first = t.points?.find((p) => p.kind === 'PhaseStarted')?.messageBefore;
    lines.push(
      '',
      `Transaction ${i + 1}: ${first ? `${first.method} ${first.path} ` : ''}-> ${t.status || '?'}${t.faultName ? ` (fault ${t.faultName})` : ''}, ${ms(t.durationUs)}${t.truncated ? ' (truncated)' : ''}`,
      `  request id ${t.requestId || '-'}${t.traceId ? `, trace id ${t.traceId}` : ''}${started > 0 ? `, at ${new Date(started).toISOString()}` : ''}`,
    );
    for (const p of t.points ?? []) {
      const where = [p.phase, p.flow].filter(Boolean).join(' ');
      const what = p.policy ? ` ${p.policy}${p.policyType ? ` (${p.policyType})` : ''}` : '';
      const outcome = p.outcome ? ` ${p.outcome}` : '';
      const fault = p.faultCode ? ` ${p.faultCode}` : '';
      const took = Number(p.durationUs ?? 0) > 0 ? ` in ${ms(p.durationUs)}` : '';
      lines.push(`  +${ms(p.elapsedUs).padStart(10)}  ${p.kind}  ${where}${what}${outcome}${fault}${took}`);
      const indent = ' '.repeat(16);
      if (p.condition) lines.push(`${indent}condition ${p.condition} -> ${p.conditionResult ? 'true' : 'false'}`);
      lines.push(
        ...vars('read ', p.variablesRead, indent),
        ...vars('set  ', p.variablesSet, indent),
        ...(p.variablesRemoved ?? []).map((v) => `${indent}unset ${v.name}`),
        ...message('before:', p.messageBefore, indent),
        ...message('after: ', p.messageAfter, indent),
      );
    }
  });
  return `${lines.join('\n')}\n`;
}
