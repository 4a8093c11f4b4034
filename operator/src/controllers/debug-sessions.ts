// Debug sessions in a cluster (docs/operations.md#debug-sessions): the store of captured transactions
// (one Secret each, type gatehouse.dev/debug-capture, owned by the DebugSession so that deleting the
// session deletes them) and the controller writing each DebugSession's status from the compile outcome
// (Accepted, Active, phase, start and expiry; the leader only). The store runs on every replica (extproc
// reports to the replica it streams ADS from): it claims capture slots 1..count by creating Secrets of
// fixed names, so two replicas never keep more than count between them (the apiserver refuses the
// second create of a name), and writes status.captured, and phase Completed at count.
import type { Logger } from '../../../lib/log.ts';
import { apiVersion } from '../api/common.ts';
import { debugCapture, debugCaptureSecretName } from '../api/debugsession.ts';
import { labelKeys, partOfValue } from '../api/names.ts';
import type { DebugSessionOutcome } from '../compile/compile.ts';
import type { KubeMetrics } from '../kube/metrics.ts';
import { isAlreadyExists, isConflict, isNotFound, resourcePath, type KubeRest } from '../kube/rest.ts';
import type { StatusTarget, StatusWriter } from '../kube/status-writer.ts';
import { WorkQueue } from '../kube/workqueue.ts';
import type { KubeSource } from '../source/kube.ts';
import type { CaptureSession, CaptureStore } from '../xds/debug-capture.ts';
import type { DebugTransaction } from '../xds/protos.ts';
import type { SnapshotController } from './snapshot.ts';

const sessionPath = (namespace: string, name: string, subresource?: string) =>
  resourcePath({
    group: 'gatehouse.dev',
    version: 'v1alpha1',
    resource: 'debugsessions',
    namespace,
    name,
    ...(subresource ? { subresource } : {}),
  });
const secretsPath = (namespace: string) => resourcePath({ version: 'v1', resource: 'secrets', namespace });

/** The capture Secrets of a session, by slot. */
export async function listCaptures(
  rest: KubeRest,
  namespace: string,
  uid: string,
): Promise<{ slot: number; name: string; transaction: DebugTransaction }[]> {
  const list = await rest.list<{
    metadata: { name: string; annotations?: Record<string, string> };
    type?: string;
    data?: Record<string, string>;
  }>(secretsPath(namespace), { labelSelector: `${debugCapture.sessionUidLabel}=${uid}` });
  return list.items
    .filter((s) => s.type === debugCapture.secretType)
    .flatMap((s) => {
      const raw = s.data?.[debugCapture.dataKey];
      if (raw === undefined) return [];
      try {
        const transaction = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as DebugTransaction;
        return [
          {
            slot: Number(s.metadata.annotations?.[debugCapture.slotAnnotation] ?? 0),
            name: s.metadata.name,
            transaction,
          },
        ];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a.slot - b.slot);
}

/** Captured transactions as Secrets owned by their DebugSession (CaptureStore of the capture service). */
export class KubeCaptureStore implements CaptureStore {
  private readonly rest: KubeRest;
  private readonly log: Logger;
  /** Slots known taken, per session id (a create refused with AlreadyExists marks one too). */
  private readonly taken = new Map<string, Set<number>>();

  constructor(options: { rest: KubeRest; log: Logger }) {
    this.rest = options.rest;
    this.log = options.log;
  }

  async append(session: CaptureSession, transactions: readonly DebugTransaction[]): Promise<number> {
    // Only a cache (a taken slot is found again by its AlreadyExists): bounded, so sessions long gone do not pile up.
    if (this.taken.size >= 1024 && !this.taken.has(session.id)) this.taken.clear();
    const taken = this.taken.get(session.id) ?? new Set<number>();
    this.taken.set(session.id, taken);
    let stored = 0;
    for (const transaction of transactions) {
      let slot = 1;
      while (slot <= session.count && taken.has(slot)) slot++;
      for (; slot <= session.count; slot++) {
        if (taken.has(slot)) continue;
        try {
          await this.rest.create(secretsPath(session.namespace), this.secret(session, slot, transaction));
          taken.add(slot);
          stored++;
          break;
        } catch (err) {
          // Another replica (or an earlier report) holds this slot: try the next.
          if (isAlreadyExists(err)) taken.add(slot);
          else throw err;
        }
      }
      if (slot > session.count) break;
    }
    // Count what the cluster holds (every replica's), and say so in status.
    const captured = Math.min(session.count, (await listCaptures(this.rest, session.namespace, session.id)).length);
    for (let s = 1; s <= captured; s++) taken.add(s);
    await this.writeCaptured(session, captured);
    this.log.info(
      { session: `${session.namespace}/${session.name}`, stored, captured, count: session.count },
      'debug capture stored',
    );
    return Math.max(0, session.count - captured);
  }

  /** status.captured, and phase Completed once count transactions are held (the session then leaves the snapshot). */
  private async writeCaptured(session: CaptureSession, captured: number): Promise<void> {
    const status: Record<string, unknown> = { captured };
    if (captured >= session.count) status.phase = 'Completed';
    try {
      await this.rest.mergePatch(
        sessionPath(session.namespace, session.name, 'status'),
        // The uid precondition: never a recreated session of the same name.
        { metadata: { uid: session.id }, status },
        { query: { fieldManager: 'gatehouse' } },
      );
    } catch (err) {
      // Deleted, or deleted and recreated under the same name (the uid precondition failed): not ours.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  private secret(session: CaptureSession, slot: number, transaction: DebugTransaction) {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: debugCaptureSecretName(session.name, session.id, slot),
        namespace: session.namespace,
        labels: { [debugCapture.sessionUidLabel]: session.id, [labelKeys.partOf]: partOfValue },
        annotations: { [debugCapture.sessionAnnotation]: session.name, [debugCapture.slotAnnotation]: String(slot) },
        // Deleting the DebugSession deletes its captures (the garbage collector).
        ownerReferences: [{ apiVersion, kind: 'DebugSession', name: session.name, uid: session.id, controller: true }],
      },
      type: debugCapture.secretType,
      data: { [debugCapture.dataKey]: Buffer.from(JSON.stringify(transaction)).toString('base64') },
    };
  }
}

export interface DebugSessionControllerOptions {
  source: Pick<KubeSource, 'get' | 'list' | 'onChange'>;
  snapshots: Pick<SnapshotController, 'current' | 'onCompiled'>;
  writer: StatusWriter;
  log: Logger;
  isLeader: () => boolean;
  metrics?: KubeMetrics;
}

/** Writes DebugSession status (conditions, phase, times) from the compile outcome; the leader only. */
export class DebugSessionController {
  private readonly options: DebugSessionControllerOptions;
  private readonly queue: WorkQueue<string>;
  private readonly stops: (() => void)[] = [];

  constructor(options: DebugSessionControllerOptions) {
    this.options = options;
    this.queue = new WorkQueue<string>({ name: 'debugsessions', log: options.log, metrics: options.metrics });
  }

  start(): void {
    this.stops.push(
      this.options.snapshots.onCompiled((state) => {
        for (const o of state.debugSessions) this.queue.add(`${o.namespace}/${o.name}`);
      }),
      this.options.source.onChange((change) => {
        if (change.kind === 'DebugSession') this.queue.add(`${change.namespace ?? ''}/${change.name}`);
      }),
    );
    this.queue.run((key) => this.reconcile(key), { concurrency: 2 });
  }

  enqueueAll(): void {
    for (const o of this.options.source.list('DebugSession'))
      this.queue.add(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
  }

  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    await this.queue.shutDown();
  }

  async reconcile(key: string): Promise<void> {
    if (!this.options.isLeader()) return;
    const [namespace, name] = key.split('/') as [string, string];
    const live = this.options.source.get('DebugSession', namespace, name) as StatusTarget | undefined;
    const state = this.options.snapshots.current();
    if (!live || !state) return;
    const outcome = state.debugSessions.find((o) => o.namespace === namespace && o.name === name);
    // A newer generation than the last compile saw: the coming rebuild enqueues this key again.
    if (!outcome || outcome.generation !== (live.metadata.generation ?? 0)) return;
    await this.options.writer.write(live, desiredDebugStatus(outcome));
  }
}

/** The status members the controller owns (captured is the store's). */
export function desiredDebugStatus(o: DebugSessionOutcome) {
  return {
    conditions: o.conditions,
    phase: o.phase,
    startTime: o.startTime,
    expireTime: o.expireTime,
  };
}
