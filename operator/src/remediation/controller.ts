// The remediation controller (docs/architecture.md#the-operator, issue 8 items 5 and 6): for every DataPlane, finds zombie pods
// and removes them within the DataPlane's limits, and reports capacity trouble. One controller does
// both, because both read the same caches (the DataPlane's pods, their nodes) and write the same
// object's status: one writer means one status write per reconcile and no race between two
// controllers of ours over the DataPlane's conditions.
//
// Level-triggered, like the DataPlane controller: a reconcile classifies every pod of the DataPlane as
// it is now (classify.ts), plans (planner.ts), acts, and writes status. What it must remember between
// reconciles is derived from the cluster where it can be: the hourly eviction budget is counted from
// status.remediations[] and the autoscalers' change history is kept in status.autoscalerChanges[]
// (both survive a restart or a leader change), an eviction in flight is known from the pod's
// deletionTimestamp. What lives only in memory: the eviction API's refusals (a restart just asks
// again), the deep-check records, and the remediations this process did, merged into status again
// should a concurrent status write of another controller have dropped them.
//
// Only the leader acts and writes; every replica observes the autoscalers too, so a new leader has
// the changes since it started and reads the earlier ones from the status.
import type * as k8s from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../../../lib/log.ts';
import type { DataPlaneSpec } from '../api/dataplane.ts';
import {
  dataPlaneApiVersion,
  dataPlaneKind,
  dataPlanePodSelector,
  envoyHealthPath,
  managedSelector,
} from '../api/names.ts';
import { KubeApiError } from '../kube/errors.ts';
import type { EventTarget, EventType } from '../kube/events.ts';
import { InformerFactory, type Lister } from '../kube/informer-factory.ts';
import type { KubeMetrics } from '../kube/metrics.ts';
import { resourcePath, type KubeRest } from '../kube/rest.ts';
import type { DesiredStatus, StatusTarget } from '../kube/status-writer.ts';
import { WorkQueue } from '../kube/workqueue.ts';
import { resources, type ResourceType } from '../watches.ts';
import {
  autoscalerChangeRecords,
  capacityCondition,
  FlapDetector,
  readAutoscalerChanges,
  unschedulablePods,
  type Change,
  type FlapPolicy,
} from './capacity.ts';
import { classify, zombieKinds } from './classify.ts';
import { DeepCheckSchedule, type DeepCheckTarget } from './deep-check-schedule.ts';
import { DeepChecker, type DeepCheckContext, type DeepCheckerOptions, type DeepCheckResult } from './deep-check.ts';
import { EnvoyDeepChecker, type EnvoyCheckContext, type EnvoyDeepCheckerOptions } from './envoy-deep-check.ts';
import { RemediationActionError } from './errors.ts';
import { mergeRecords, readRecords, record, type RemediationRecord } from './history.ts';
import { RemediationMetrics } from './metrics.ts';
import { planRemediation, recordAction, type PlannedAction, type Refusal } from './planner.ts';
import { remediationPolicy, type OperatorRemediationDefaults } from './policy.ts';
import {
  componentOf,
  dataPlaneOf,
  desiredReplicas,
  isReady,
  isTerminating,
  nodeHealth,
  podId,
  selectorMatches,
  volumeFailureOf,
  volumeFailureReasons,
  type HorizontalPodAutoscaler,
  type Node,
  type Pod,
  type PodDisruptionBudget,
  type PodEvent,
} from './pods.ts';
import { disposition, podsHealthyCondition, type Outcome, type ZombieReport } from './status.ts';
import { objectKey, splitObjectKey } from '../kube/keys.ts';

/** The status writer's contract (kube/status-writer.ts). */
export interface RemediationStatusWriter {
  write(target: StatusTarget, desired: DesiredStatus): Promise<boolean>;
}

/** The event recorder's contract (kube/events.ts). */
export interface RemediationEvents {
  event(
    target: EventTarget,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    related?: EventTarget,
  ): void;
}

export interface DeepCheckSettings extends DeepCheckerOptions {
  /** Default true. Runs only for DataPlanes with remediation enabled, on the leader. */
  enabled?: boolean;
  /** Each Ready extproc pod is checked at most once per interval (default 30 s). */
  intervalMs?: number;
  /** Checks in flight at most (default 4). */
  concurrency?: number;
  /** Replaces the gRPC checker (tests). */
  checker?: { check(ip: string, target?: DeepCheckContext): Promise<DeepCheckResult> };
  /**
   * Whether checks can run now (default always). Under mutual TLS: once the operator holds its client
   * certificate; a check without it would fail every healthy pod and evict it as a zombie.
   */
  ready?: () => boolean;
  /**
   * Envoy pods' deep check (envoy-deep-check.ts): /ready on the ready port, and a health route when
   * one is configured. `enabled: false` turns it off; `checker` replaces it (tests).
   */
  envoy?: EnvoyDeepCheckerOptions & {
    enabled?: boolean;
    checker?: { check(ip: string, target?: EnvoyCheckContext): Promise<DeepCheckResult> };
  };
}

export interface RemediationControllerOptions {
  rest: KubeRest;
  kc?: k8s.KubeConfig;
  log: Logger;
  writer: RemediationStatusWriter;
  events?: RemediationEvents;
  isLeader: () => boolean;
  /** Watch one namespace; default all. */
  namespace?: string;
  /** Where the gatehouse_remediation_* metrics go; none without it. */
  registry?: Registry;
  kubeMetrics?: KubeMetrics;
  /**
   * The operator's shared informers (its owner starts and stops them); without it the controller
   * makes a factory of its own (tests) and starts and stops it with itself.
   */
  informers?: InformerFactory;
  /** Crash-loop threshold, deep-check failures before a zombie, force-delete bound (policy.ts). */
  remediation?: OperatorRemediationDefaults;
  deepCheck?: DeepCheckSettings;
  /** Autoscaler flapping: more than maxChanges (6) desired-replica changes within windowMs (30 min). */
  flapping?: Partial<FlapPolicy>;
  /** How long a pod the eviction API refused (429) waits before the next try: initialMs (10 s) doubling to maxMs (5 min). */
  refusalBackoff?: { initialMs?: number; maxMs?: number };
  now?: () => Date;
  concurrency?: number;
}

interface DataPlaneObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
  };
  spec?: DataPlaneSpec;
  status?: unknown;
}

interface InFlight {
  action: 'evict' | 'force-delete';
  at: number;
}

/** What a DataPlane's reconciles remember in this process; all of it may be lost (see the header). */
interface DataPlaneMemory {
  /** Remediations done here, merged into status.remediations on every write. */
  done: RemediationRecord[];
  /** By pod id: actions the pod cache does not show yet. */
  inFlight: Map<string, InFlight>;
  /** By pod id: the eviction API's last refusal. */
  refusals: Map<string, Refusal & { attempts: number }>;
  /** By pod id: the wait reason last announced, so a wait is announced once, not every reconcile. */
  announcedWaits: Map<string, string>;
}

/** How long an action may go unseen in the pod cache before we stop assuming it is in flight. */
const IN_FLIGHT_TTL_MS = 2 * 60_000;

export class RemediationController {
  private readonly o: RemediationControllerOptions;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly queue: WorkQueue<string>;
  private readonly factory: InformerFactory;
  private readonly ownFactory: boolean;
  private readonly pods: Lister;
  private readonly nodes: Lister;
  private readonly dataPlanes: Lister;
  private readonly pdbs: Lister;
  private readonly hpas: Lister;
  /** core/v1 Events of volumes that fail to attach or mount, one field-selected informer per reason. */
  private readonly volumeEvents: Lister[];
  private readonly unsubscribe: (() => void)[] = [];
  private readonly metrics?: RemediationMetrics;
  private readonly flaps: FlapDetector;
  private readonly schedule?: DeepCheckSchedule;
  /** By DataPlane key. */
  private readonly memory = new Map<string, DataPlaneMemory>();
  private deepCheckTimer?: NodeJS.Timeout;
  private deepCheckRound?: Promise<void>;

  constructor(options: RemediationControllerOptions) {
    this.o = options;
    this.log = options.log.child({ controller: 'remediation' });
    this.now = options.now ?? (() => new Date());
    const { rest, namespace } = options;
    const kubeMetrics = options.kubeMetrics;
    this.queue = new WorkQueue<string>({ name: 'remediation', log: this.log, metrics: kubeMetrics });
    this.ownFactory = !options.informers;
    this.factory = options.informers ?? new InformerFactory({ rest, log: this.log, metrics: kubeMetrics });
    const lister = (r: ResourceType, name: string, labelSelector?: string) =>
      this.factory.lister({
        name,
        group: r.group,
        version: r.version,
        resource: r.resource,
        namespace: r.namespaced ? namespace : undefined,
        labelSelector,
      });
    // The kube source reads the same Pods, Nodes and DataPlanes: one watch each (names: the source's).
    this.pods = lister(resources.Pod, 'pods', dataPlanePodSelector);
    this.nodes = lister(resources.Node, 'nodes');
    this.dataPlanes = lister(resources.DataPlane, 'dataplanes');
    // Every PDB of the namespace, ours or not: the Eviction API honours them all.
    this.pdbs = lister(resources.PodDisruptionBudget, 'poddisruptionbudgets');
    this.hpas = lister(resources.HorizontalPodAutoscaler, 'horizontalpodautoscalers', managedSelector);
    // Only these reasons, about pods: a few objects, where every Warning of the cluster would be many.
    this.volumeEvents = volumeFailureReasons.map((reason) =>
      this.factory.lister({
        name: `remediation-events-${reason}`,
        version: 'v1',
        resource: 'events',
        namespace,
        fieldSelector: `involvedObject.kind=Pod,reason=${reason}`,
      }),
    );
    if (options.registry) this.metrics = new RemediationMetrics(options.registry);
    this.flaps = new FlapDetector(options.flapping);
    const dc = options.deepCheck ?? {};
    if (dc.enabled !== false) {
      const checker = dc.checker ?? new DeepChecker(dc);
      const envoy = dc.envoy ?? {};
      this.schedule = new DeepCheckSchedule({
        checker,
        ...(envoy.enabled === false
          ? {}
          : {
              envoyChecker:
                envoy.checker ??
                // Every compiled listener answers envoyHealthPath itself (compile/envoy/routes.ts).
                new EnvoyDeepChecker({ timeoutMs: dc.timeoutMs, healthRoute: { path: envoyHealthPath }, ...envoy }),
            }),
        intervalMs: dc.intervalMs,
        concurrency: dc.concurrency,
        now: () => this.now().getTime(),
        onResult: (target, result) => {
          this.metrics?.deepChecks.inc({ result: result.ok ? 'ok' : 'failed' });
          if (!result.ok)
            this.log.debug(
              { pod: target.id, dataPlane: target.dataPlane, failure: result.message },
              'deep check failed',
            );
        },
      });
    }
  }

  async start(): Promise<void> {
    this.unsubscribe.push(
      this.dataPlanes.onChange((_e, obj) => this.queue.add(objectKey(obj))),
      this.pods.onChange((_e, obj) => this.enqueueOwnerOf(obj)),
      this.nodes.onChange((_e, obj, old) => this.onNode(obj as Node, old as Node | undefined)),
      this.pdbs.onChange((_e, obj) => this.onPdb(obj as PodDisruptionBudget)),
      this.hpas.onChange((e, obj) => this.onHpa(e, obj as HorizontalPodAutoscaler)),
      ...this.volumeEvents.map((l) => l.onChange((_e, obj) => this.onVolumeEvent(obj as PodEvent))),
    );
    await this.factory.start();
    this.queue.run((key) => this.reconcile(key), { concurrency: this.o.concurrency ?? 2 });
    if (this.schedule) {
      const interval = this.schedule.intervalMs;
      this.deepCheckTimer = setInterval(() => {
        this.deepCheckRound ??= this.runDeepChecks().finally(() => (this.deepCheckRound = undefined));
      }, interval);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.deepCheckTimer);
    for (const u of this.unsubscribe.splice(0)) u();
    await this.deepCheckRound;
    await this.queue.shutDown();
    if (this.ownFactory) await this.factory.stop();
  }

  /** Re-examines every DataPlane (leadership gained). */
  enqueueAll(): void {
    for (const dp of this.dataPlanes.list()) this.queue.add(objectKey(dp));
  }

  /** Classify, plan, act, write status, for the DataPlane `namespace/name`. */
  async reconcile(key: string): Promise<void | { requeueAfterMs?: number }> {
    if (!this.o.isLeader()) return;
    const [namespace, name] = splitObjectKey(key);
    const dp = this.dataPlanes.get(namespace, name) as DataPlaneObject | undefined;
    if (!dp || dp.metadata.deletionTimestamp) {
      this.forget(key, namespace, name);
      return;
    }
    const now = this.now();
    const policy = remediationPolicy(dp.spec, this.o.remediation);
    const pods = this.podsOf(namespace, name);
    const memory = this.memoryOf(key);
    settle(memory, pods, now);

    const volumeEvents = this.volumeEvents.flatMap((l) => l.list(namespace) as PodEvent[]);
    const planPods = pods.map((pod) => {
      const node = pod.spec?.nodeName ? (this.nodes.get(undefined, pod.spec.nodeName) as Node | undefined) : undefined;
      const deep =
        policy.enabled && this.schedule && pod.metadata.uid ? this.schedule.record(pod.metadata.uid) : undefined;
      const volume = volumeFailureOf(pod, volumeEvents);
      return { pod, classification: classify(pod, node, now, policy, deep, volume), node: node && nodeHealth(node) };
    });

    const records = mergeRecords(readRecords(dp.status), memory.done);
    const reports: ZombieReport[] = [];
    let recheckAt: Date | undefined;
    const failures: string[] = [];
    if (policy.enabled) {
      const plan = planRemediation({
        now,
        policy,
        pods: planPods,
        history: records,
        pdbs: this.pdbs.list(namespace) as PodDisruptionBudget[],
        refusals: memory.refusals,
        inProgress: new Set(memory.inFlight.keys()),
      });
      recheckAt = plan.recheckAt;
      for (const action of plan.actions) {
        const outcome = await this.execute(key, dp, action, now);
        if (outcome?.result === 'failed') failures.push(`${action.pod.metadata.name}: ${outcome.message}`);
        if (outcome?.result === 'refused') {
          const retryAt = memory.refusals.get(podId(action.pod))?.retryAt;
          if (retryAt && (!recheckAt || retryAt < recheckAt)) recheckAt = retryAt;
        }
        reports.push({
          pod: action.pod.metadata.name,
          kind: action.zombie,
          message: action.message,
          disposition: disposition(action, outcome),
        });
      }
    } else {
      for (const p of planPods) {
        if (p.classification.zombie)
          reports.push({
            pod: p.pod.metadata.name,
            kind: p.classification.kind,
            message: p.classification.message,
            disposition: '',
          });
      }
    }
    this.countZombies(namespace, name, reports);

    const hpaNames = (this.hpas.list(namespace) as HorizontalPodAutoscaler[])
      .filter((h) => dataPlaneOf(h) === name)
      .map((h) => h.metadata.name);
    // The history survives restarts in status.autoscalerChanges: what happened before this process
    // watched comes from there.
    const recorded = readAutoscalerChanges(dp.status);
    const history = new Map<string, readonly Change[]>();
    for (const hpa of hpaNames) {
      this.flaps.restore(`${namespace}/${hpa}`, recorded.get(hpa) ?? [], now);
      history.set(hpa, this.flaps.recent(`${namespace}/${hpa}`, now));
    }
    const flapping = hpaNames.flatMap((hpa) => this.flaps.flapping(`${namespace}/${hpa}`, now) ?? []);
    const capacity = capacityCondition(unschedulablePods(pods), flapping, this.flaps.windowMs);
    if (capacity.recheckAt && (!recheckAt || capacity.recheckAt < recheckAt)) recheckAt = capacity.recheckAt;
    this.metrics?.capacityOk.set({ namespace, dataplane: name }, capacity.condition.status === 'True' ? 1 : 0);

    const remediations = mergeRecords(records, memory.done);
    const autoscalerChanges = autoscalerChangeRecords(history);
    await this.o.writer.write(target(dp), {
      conditions: [capacity.condition, podsHealthyCondition(reports, policy.enabled)],
      remediations: remediations.length > 0 ? remediations : undefined,
      autoscalerChanges: autoscalerChanges.length > 0 ? autoscalerChanges : undefined,
    });
    // After the status write, so what did happen is recorded; the queue retries with backoff.
    if (failures.length > 0)
      throw new RemediationActionError(`remediation of DataPlane ${key} failed: ${failures.join('; ')}`);
    if (recheckAt) return { requeueAfterMs: Math.max(0, recheckAt.getTime() - now.getTime()) + 100 };
  }

  /** Carries out one planned action; returns how an executed one ended. */
  private async execute(
    key: string,
    dp: DataPlaneObject,
    action: PlannedAction,
    now: Date,
  ): Promise<Outcome | undefined> {
    const memory = this.memoryOf(key);
    const pod = action.pod;
    const id = podId(pod);
    const why = `${action.zombie}: ${action.message}`;
    if (action.type === 'wait') {
      if (action.reason !== 'InProgress' && memory.announcedWaits.get(id) !== action.reason) {
        memory.announcedWaits.set(id, action.reason);
        this.metrics?.deferred.inc({ reason: action.reason });
        this.announce(
          dp,
          pod,
          'Normal',
          'RemediationDeferred',
          'Evict',
          `zombie (${why}); not remediated yet: ${action.reason}: ${action.detail}`,
        );
      }
      return undefined;
    }
    memory.announcedWaits.delete(id);
    const recorded = recordAction(action);
    if (action.type === 'report') {
      if (recorded) {
        memory.done = mergeRecords(memory.done, [record(now, pod.metadata.name, why, recorded)]);
        this.metrics?.actions.inc({ action: action.would, reason: action.zombie, dry_run: 'true' });
        this.announce(
          dp,
          pod,
          'Normal',
          'DryRun',
          action.would === 'evict' ? 'Evict' : 'ForceDelete',
          `dry run: would ${action.would}: ${why}`,
        );
        this.log.info(
          { dataPlane: key, pod: pod.metadata.name, would: action.would, zombie: action.zombie },
          'dry run: zombie pod reported',
        );
      }
      return undefined;
    }

    const outcome = action.type === 'evict' ? await this.evict(pod) : await this.forceDelete(pod);
    if (outcome.result === 'done') {
      memory.inFlight.set(id, { action: action.type, at: now.getTime() });
      memory.refusals.delete(id);
      memory.done = mergeRecords(memory.done, [record(now, pod.metadata.name, why, recorded!)]);
      this.metrics?.actions.inc({ action: action.type, reason: action.zombie, dry_run: 'false' });
      const reason = action.type === 'evict' ? 'Evicted' : 'ForceDeleted';
      // Normal: the remedy, not the problem. The problem's Warning is PodsHealthy=False (ZombiePods),
      // which names the pod and what is done: one root cause, one Warning.
      this.announce(
        dp,
        pod,
        'Normal',
        reason,
        action.type === 'evict' ? 'Evict' : 'ForceDelete',
        `${action.type === 'evict' ? 'evicted' : 'force-deleted'}: ${why}`,
      );
      this.log.warn(
        { dataPlane: key, pod: pod.metadata.name, action: action.type, zombie: action.zombie, message: action.message },
        'zombie pod remediated',
      );
    } else if (outcome.result === 'refused') {
      const before = memory.refusals.get(id);
      const attempts = (before?.attempts ?? 0) + 1;
      const { initialMs = 10_000, maxMs = 5 * 60_000 } = this.o.refusalBackoff ?? {};
      const delay = Math.min(maxMs, initialMs * 2 ** Math.min(attempts - 1, 20));
      memory.refusals.set(id, { attempts, retryAt: new Date(now.getTime() + delay), message: outcome.message });
      // The wait that follows is this refusal: announced here, not again as a deferral.
      memory.announcedWaits.set(id, 'EvictionRefused');
      this.metrics?.refusals.inc({ code: '429' });
      this.announce(
        dp,
        pod,
        'Warning',
        'EvictionRefused',
        'Evict',
        `eviction refused, retrying: ${outcome.message} (zombie: ${why})`,
      );
    } else if (outcome.result === 'failed') {
      this.announce(
        dp,
        pod,
        'Warning',
        'RemediationFailed',
        action.type === 'evict' ? 'Evict' : 'ForceDelete',
        `${action.type} failed: ${outcome.message}`,
      );
    }
    return outcome;
  }

  /** POST pods/<name>/eviction (policy/v1): the apiserver checks the pod's PodDisruptionBudget. */
  private async evict(pod: Pod): Promise<Outcome> {
    const ns = pod.metadata.namespace ?? 'default';
    const path = resourcePath({
      version: 'v1',
      resource: 'pods',
      namespace: ns,
      name: pod.metadata.name,
      subresource: 'eviction',
    });
    try {
      await this.o.rest.create(path, {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: pod.metadata.name, namespace: ns },
        // The uid: never evict a newer pod that took the name.
        ...(pod.metadata.uid ? { deleteOptions: { preconditions: { uid: pod.metadata.uid } } } : {}),
      });
      return { result: 'done' };
    } catch (err) {
      return this.failure(err, pod);
    }
  }

  /** DELETE with gracePeriodSeconds 0: only for pods whose node will never run their shutdown. */
  private async forceDelete(pod: Pod): Promise<Outcome> {
    const path = resourcePath({
      version: 'v1',
      resource: 'pods',
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name,
    });
    try {
      await this.o.rest.delete(path, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        ...(pod.metadata.uid ? { preconditions: { uid: pod.metadata.uid } } : {}),
      });
      return { result: 'done' };
    } catch (err) {
      return this.failure(err, pod);
    }
  }

  private failure(err: unknown, pod: Pod): Outcome {
    if (err instanceof KubeApiError) {
      // Gone, or the name now belongs to another pod (the uid precondition failed).
      if (err.status === 404 || err.status === 409) return { result: 'gone' };
      if (err.status === 429) {
        const pdbs = (this.pdbs.list(pod.metadata.namespace ?? 'default') as PodDisruptionBudget[])
          .filter((b) => selectorMatches(b.spec?.selector, pod.metadata.labels))
          .map((b) => b.metadata.name)
          .sort();
        return {
          result: 'refused',
          message: `${err.apiMessage}${pdbs.length > 0 ? ` (PodDisruptionBudget ${pdbs.join(', ')})` : ''}`,
        };
      }
      this.metrics?.refusals.inc({ code: String(err.status) });
      return { result: 'failed', message: `${err.status}${err.reason ? ` ${err.reason}` : ''}: ${err.apiMessage}` };
    }
    return { result: 'failed', message: (err as Error).message };
  }

  /** One Event per action, on the pod it is about, with the DataPlane as `related`. */
  private announce(dp: DataPlaneObject, pod: Pod, type: EventType, reason: string, action: string, note: string): void {
    const podRef: EventTarget = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
    };
    this.o.events?.event(podRef, type, reason, action, note, target(dp));
  }

  private memoryOf(key: string): DataPlaneMemory {
    let m = this.memory.get(key);
    if (!m) {
      m = { done: [], inFlight: new Map(), refusals: new Map(), announcedWaits: new Map() };
      this.memory.set(key, m);
    }
    return m;
  }

  private podsOf(namespace: string, name: string): Pod[] {
    return (this.pods.list(namespace) as Pod[]).filter((p) => dataPlaneOf(p) === name);
  }

  private countZombies(namespace: string, name: string, reports: ZombieReport[]): void {
    if (!this.metrics) return;
    for (const kind of zombieKinds) {
      this.metrics.zombies.set(
        { namespace, dataplane: name, reason: kind },
        reports.filter((r) => r.kind === kind).length,
      );
    }
  }

  private forget(key: string, namespace: string, name: string): void {
    this.memory.delete(key);
    if (this.metrics) {
      for (const kind of zombieKinds) this.metrics.zombies.remove({ namespace, dataplane: name, reason: kind });
      this.metrics.capacityOk.remove({ namespace, dataplane: name });
    }
  }

  private enqueueOwnerOf(obj: { metadata?: { namespace?: string; labels?: Record<string, string> } }): void {
    const dp = dataPlaneOf(obj);
    if (dp) this.queue.add(`${obj.metadata?.namespace ?? ''}/${dp}`);
  }

  /** Only readiness and taints matter here; nodes update their heartbeat every few seconds. */
  private onNode(node: Node, old: Node | undefined): void {
    const a = old && nodeHealth(old);
    const b = nodeHealth(node);
    if (
      a &&
      a.ready === b.ready &&
      a.outOfService === b.outOfService &&
      a.notReadySince?.getTime() === b.notReadySince?.getTime()
    )
      return;
    for (const pod of this.pods.list() as Pod[])
      if (pod.spec?.nodeName === node.metadata.name) this.enqueueOwnerOf(pod);
  }

  /** A volume that fails to attach or mount: the DataPlane of the pod it is about looks again. */
  private onVolumeEvent(event: PodEvent): void {
    const about = event.involvedObject;
    if (!about?.name) return;
    const pod = this.pods.get(about.namespace ?? event.metadata.namespace, about.name);
    if (pod) this.enqueueOwnerOf(pod);
  }

  /** A PDB that changed may allow what it refused: ask again now rather than after the backoff. */
  private onPdb(pdb: PodDisruptionBudget): void {
    for (const pod of this.pods.list(pdb.metadata.namespace) as Pod[]) {
      const dp = dataPlaneOf(pod);
      if (!dp || !selectorMatches(pdb.spec?.selector, pod.metadata.labels)) continue;
      const refusal = this.memory.get(`${pod.metadata.namespace ?? ''}/${dp}`)?.refusals.get(podId(pod));
      if (refusal) refusal.retryAt = new Date(0);
      this.enqueueOwnerOf(pod);
    }
  }

  private onHpa(event: string, hpa: HorizontalPodAutoscaler): void {
    const key = `${hpa.metadata.namespace ?? ''}/${hpa.metadata.name}`;
    if (event === 'delete') {
      this.flaps.forget(key);
      this.enqueueOwnerOf(hpa);
      return;
    }
    if (this.flaps.observe(key, desiredReplicas(hpa), this.now())) this.enqueueOwnerOf(hpa);
  }

  /** One round of deep checks: every kubelet-Ready extproc and Envoy pod of a DataPlane with remediation enabled. */
  private async runDeepChecks(): Promise<void> {
    if (!this.schedule || !this.o.isLeader() || this.o.deepCheck?.ready?.() === false) return;
    const targets: DeepCheckTarget[] = [];
    for (const dp of this.dataPlanes.list() as DataPlaneObject[]) {
      if (!remediationPolicy(dp.spec).enabled || dp.metadata.deletionTimestamp) continue;
      const ns = dp.metadata.namespace ?? '';
      const [first] = dp.spec?.listeners ?? [];
      const listener = first && { port: first.port, tls: first.protocol === 'HTTPS' };
      for (const pod of this.podsOf(ns, dp.metadata.name)) {
        const component = componentOf(pod);
        if (
          !component ||
          pod.status?.phase !== 'Running' ||
          !isReady(pod) ||
          isTerminating(pod) ||
          !pod.status.podIP ||
          !pod.metadata.uid
        )
          continue;
        targets.push({
          id: pod.metadata.uid,
          ip: pod.status.podIP,
          dataPlane: `${ns}/${dp.metadata.name}`,
          component,
          ...(component === 'envoy' && listener ? { listener } : {}),
        });
      }
    }
    try {
      const changed = await this.schedule.run(targets);
      for (const key of changed) this.queue.add(key);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'deep-check round failed');
    }
  }
}

/**
 * Forgets what the pod cache has caught up with (an eviction shows as the pod terminating, a force
 * delete as the pod gone), actions unseen for too long, and the state of pods that are gone.
 */
function settle(memory: DataPlaneMemory, pods: Pod[], now: Date): void {
  const byId = new Map(pods.map((p) => [podId(p), p]));
  for (const [id, f] of memory.inFlight) {
    const pod = byId.get(id);
    const seen = !pod || (f.action === 'evict' && isTerminating(pod));
    if (seen || now.getTime() - f.at > IN_FLIGHT_TTL_MS) memory.inFlight.delete(id);
  }
  for (const id of memory.refusals.keys()) if (!byId.has(id)) memory.refusals.delete(id);
  for (const id of memory.announcedWaits.keys()) if (!byId.has(id)) memory.announcedWaits.delete(id);
}

/**
 * The DataPlane as the status writer and the event recorder see it. Without its generation: the writer
 * would set status.observedGeneration, which kstatus (Flux, Argo CD) reads as "the DataPlane
 * controller has seen this spec"; that is the DataPlane controller's to say, not ours.
 */
function target(dp: DataPlaneObject): StatusTarget {
  return {
    apiVersion: dp.apiVersion ?? dataPlaneApiVersion,
    kind: dp.kind ?? dataPlaneKind,
    metadata: { name: dp.metadata.name, namespace: dp.metadata.namespace, uid: dp.metadata.uid },
    status: dp.status,
  };
}
