// Writes the status of ApiProxies, ApiPolicies, ApiProducts, DeveloperApps, KeyValueMaps and SharedFlows: level-triggered, one key per object
// (`Kind/namespace/name`), through a rate-limited work queue. A key is enqueued when its compile outcome
// changes, when its live object changes (someone edited or wiped its status), when what the data-plane
// nodes run changes (ApiProxies), and all of them when this replica becomes the leader. Only the
// leader writes; the desired status is recomputed from the caches on every reconcile, so a replayed
// or duplicated key writes nothing new.
import type { Logger } from '../../../lib/log.ts';
import type { DesiredStatus, StatusTarget, StatusWriter } from '../kube/status-writer.ts';
import type { KubeMetrics } from '../kube/metrics.ts';
import { WorkQueue } from '../kube/workqueue.ts';
import { credentialSecretLabel } from '../api/names.ts';
import { secretsNotFound } from '../compile/report.ts';
import type { KubeSource, SourceKind } from '../source/kube.ts';
import type { NodeStatus } from '../xds/node-registry.ts';
import { desiredStatus } from './object-status.ts';
import type { SnapshotController } from './snapshot.ts';

const statusKinds: readonly SourceKind[] = [
  'ApiProxy',
  'ApiPolicy',
  'ApiProduct',
  'Developer',
  'DeveloperApp',
  'KeyValueMap',
  'SharedFlow',
];

export interface StatusControllerOptions {
  source: KubeSource;
  snapshots: SnapshotController;
  /** Every data-plane node's record (all replicas', see node-reports.ts). */
  nodes: () => NodeStatus[];
  /** Subscribes to changes of what the nodes run; returns the unsubscribe. */
  onNodesChanged: (handler: () => void) => () => void;
  writer: StatusWriter;
  log: Logger;
  isLeader: () => boolean;
  concurrency?: number;
  /**
   * Whether a Secret exists but without the gatehouse.dev/credential label (so the kube source, which
   * watches only labelled Secrets, does not see it): the status then says so instead of "not found".
   */
  unlabelledSecret?: (namespace: string, name: string) => Promise<boolean>;
  /** Quiet time after node ACKs before ApiProxies are re-examined. */
  nodeDebounceMs?: number;
  metrics?: KubeMetrics;
}

export class StatusController {
  private readonly options: StatusControllerOptions;
  private readonly queue: WorkQueue<string>;
  private readonly stops: (() => void)[] = [];
  private nodeTimer: NodeJS.Timeout | undefined;

  constructor(options: StatusControllerOptions) {
    this.options = options;
    this.queue = new WorkQueue<string>({ name: 'status', log: options.log, metrics: options.metrics });
  }

  start(): void {
    const { source, snapshots } = this.options;
    this.stops.push(
      snapshots.onCompiled((state) => {
        for (const key of state.changed) this.queue.add(key);
      }),
    );
    this.stops.push(
      source.onChange((change) => {
        if (statusKinds.includes(change.kind))
          this.queue.add(`${change.kind}/${change.namespace ?? ''}/${change.name}`);
      }),
    );
    this.stops.push(
      this.options.onNodesChanged(() => {
        if (this.nodeTimer) return;
        this.nodeTimer = setTimeout(() => {
          this.nodeTimer = undefined;
          this.enqueueKind('ApiProxy');
        }, this.options.nodeDebounceMs ?? 250);
      }),
    );
    this.queue.run((key) => this.reconcile(key), { concurrency: this.options.concurrency ?? 8 });
  }

  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    if (this.nodeTimer) clearTimeout(this.nodeTimer);
    await this.queue.shutDown();
  }

  /** Every object of every kind (on becoming leader). */
  enqueueAll(): void {
    for (const kind of statusKinds) this.enqueueKind(kind);
  }

  private enqueueKind(kind: SourceKind): void {
    for (const o of this.options.source.list(kind))
      this.queue.add(`${kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
  }

  private readonly labelChecks = new Map<string, { unlabelled: boolean; at: number }>();

  /**
   * "Secret X not found" where the Secret exists without the credential label: say exactly that
   * (docs/operations.md). Looked up metadata-only, at most every 30 s per Secret.
   */
  private async explainUnlabelledSecrets(desired: DesiredStatus): Promise<DesiredStatus> {
    const lookup = this.options.unlabelledSecret;
    if (!lookup) return desired;
    const conditions = [];
    for (const c of desired.conditions) {
      let message = c.message;
      for (const [text, name, namespace] of secretsNotFound(c.message)) {
        const key = `${namespace}/${name}`;
        let check = this.labelChecks.get(key);
        if (!check || performance.now() - check.at > 30_000) {
          const unlabelled = await lookup(namespace, name).catch(() => false);
          check = { unlabelled, at: performance.now() };
          this.labelChecks.set(key, check);
        }
        if (check.unlabelled)
          message = message.replace(
            text,
            `Secret "${name}" exists but lacks the label ${credentialSecretLabel}=true (the operator reads only labelled Secrets)`,
          );
      }
      conditions.push(message === c.message ? c : { ...c, message });
    }
    return { ...desired, conditions };
  }

  async reconcile(key: string): Promise<void> {
    if (!this.options.isLeader()) return;
    const [kind, namespace, name] = key.split('/') as [SourceKind, string, string];
    const live = this.options.source.get(kind, namespace, name) as StatusTarget | undefined;
    const state = this.options.snapshots.current();
    if (!live || !state) return;
    const outcome = state.outcomes.get(key);
    // A newer generation than the last compile saw: the coming rebuild enqueues this key again.
    if (!outcome || outcome.generation !== (live.metadata.generation ?? 0)) return;
    const desired = await this.explainUnlabelledSecrets(
      desiredStatus(kind, outcome, {
        version: state.version,
        nodes: this.options.nodes(),
        history: this.options.snapshots.history,
        revisions: state.revisions,
        servedBy: state.servedBy,
      }),
    );
    // The cluster keeps the last accepted spec, for a restarted or newly elected replica
    // (docs/architecture.md#the-operator).
    const accepted = state.lastAccepted.get(key);
    const spec = (accepted?.object as { spec?: unknown } | undefined)?.spec;
    desired.lastAccepted = accepted && spec ? { generation: accepted.generation, spec } : undefined;
    await this.options.writer.write(live, desired);
  }
}
