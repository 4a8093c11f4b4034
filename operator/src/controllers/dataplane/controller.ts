// The DataPlane controller: for every DataPlane, the Envoy and extproc workloads it describes, kept as
// rendered (drift put back by server-side apply), objects no longer rendered deleted, and its status
// written. Informers on DataPlanes and on every managed kind (label-selected) feed a rate-limited work
// queue of "namespace/name" keys; a change to a managed object enqueues its owner. Level-triggered:
// each reconcile renders from the DataPlane as it is now, so a replayed key changes nothing. Only the
// leader reconciles (the others' keys are dropped; becoming leader calls enqueueAll()).
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../../../lib/log.ts';
import { apiVersion, group } from '../../api/common.ts';
import { InformerFactory, type Lister } from '../../kube/informer-factory.ts';
import type { KubeRest } from '../../kube/rest.ts';
import { WorkQueue } from '../../kube/workqueue.ts';
import type { NodeStatus } from '../../xds/node-registry.ts';
import type { ObjectOutcome } from '../last-accepted.ts';
import { applyObjects, objectsToPrune, pruneObjects } from './apply.ts';
import { dataPlaneKind, labelKeys, managedSelector, workloadName } from '../../api/names.ts';
import { managedKinds, resources, type ManagedKindName } from '../../watches.ts';
import { renderDataPlane, type DataPlaneObject, type KubeObject, type RenderOptions } from './render.ts';
import { dataPlaneStatus, type DeploymentState, type StatusCondition } from './status.ts';
import { objectKey, splitObjectKey } from '../../kube/keys.ts';

/** The status writer's contract (operator/src/kube/status-writer.ts). */
export interface DataPlaneStatusWriter {
  write(
    target: {
      apiVersion: string;
      kind: string;
      metadata: { name: string; namespace?: string; generation?: number; uid?: string };
      status?: unknown;
    },
    desired: { conditions: StatusCondition[]; [field: string]: unknown },
  ): Promise<boolean>;
}

/** The event recorder's contract (operator/src/kube/events.ts). */
export interface DataPlaneEvents {
  event(
    target: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; uid?: string } },
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    note: string,
  ): void;
}

export interface DataPlaneControllerOptions {
  rest: KubeRest;
  kc: k8s.KubeConfig;
  log: Logger;
  renderOptions: RenderOptions;
  /** Every connected xDS node (all DataPlanes'). */
  nodes: () => NodeStatus[];
  /** The snapshot version the operator serves. */
  configVersion: () => string | undefined;
  /** What the compiler made of a DataPlane (its Accepted and ResolvedRefs). */
  compileOutcome?: (namespace: string, name: string) => Pick<ObjectOutcome, 'conditions'> | undefined;
  /**
   * The DataPlane's last accepted revision, kept in status.lastAccepted so that a restarted or newly
   * elected replica serves it while the current generation is invalid (docs/architecture.md#the-operator).
   */
  lastAccepted?: (namespace: string, name: string) => { generation: number; spec: unknown } | undefined;
  writer: DataPlaneStatusWriter;
  events?: DataPlaneEvents;
  isLeader: () => boolean;
  /** Watch one namespace; default all. */
  namespace?: string;
  concurrency?: number;
  /**
   * The operator's shared informers (its owner starts and stops them); without it the controller
   * makes a factory of its own (tests) and starts and stops it with itself.
   */
  informers?: InformerFactory;
}

type Obj = k8s.KubernetesObject;

export class DataPlaneController {
  private readonly o: DataPlaneControllerOptions;
  private readonly log: Logger;
  private readonly queue: WorkQueue<string>;
  private readonly factory: InformerFactory;
  private readonly ownFactory: boolean;
  private readonly dataPlanes: Lister;
  private readonly managed: ReadonlyMap<ManagedKindName, Lister>;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(options: DataPlaneControllerOptions) {
    this.o = options;
    this.log = options.log.child({ controller: 'dataplane' });
    const { rest, namespace } = options;
    this.queue = new WorkQueue<string>({ name: 'dataplanes', log: this.log });
    this.ownFactory = !options.informers;
    this.factory = options.informers ?? new InformerFactory({ rest, log: this.log });
    this.dataPlanes = this.factory.lister({
      name: 'dataplanes',
      group: resources.DataPlane.group,
      version: resources.DataPlane.version,
      resource: resources.DataPlane.resource,
      namespace,
    });
    // Services are a view of the kube source's informer of every Service, PDBs of remediation's of every PDB.
    this.managed = new Map(
      managedKinds.map((k) => [
        k.kind,
        this.factory.lister({
          name: `dataplane-${k.resource}`,
          group: k.group,
          version: k.version,
          resource: k.resource,
          namespace,
          labelSelector: managedSelector,
        }),
      ]),
    );
  }

  async start(): Promise<void> {
    this.unsubscribe.push(this.dataPlanes.onChange((_event, obj) => this.queue.add(objectKey(obj))));
    for (const informer of this.managed.values()) {
      this.unsubscribe.push(
        informer.onChange((_event, obj, old) => {
          const owner = controllerDataPlane(obj) ?? (old && controllerDataPlane(old));
          if (owner) this.queue.add(`${obj.metadata?.namespace ?? ''}/${owner}`);
        }),
      );
    }
    // Every cache full before the first reconcile: apply compares against them, prune lists them.
    await this.factory.start();
    this.queue.run((key) => this.reconcile(key), { concurrency: this.o.concurrency ?? 4 });
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    await this.queue.shutDown();
    if (this.ownFactory) await this.factory.stop();
  }

  /** Re-examines every DataPlane (leadership gained, snapshot version or node sync state changed). */
  enqueueAll(): void {
    for (const dp of this.dataPlanes.list()) this.queue.add(objectKey(dp));
  }

  /** render -> apply -> prune -> status, for the DataPlane `namespace/name`. */
  async reconcile(key: string): Promise<void | { requeueAfterMs?: number }> {
    if (!this.o.isLeader()) return;
    const [namespace, name] = splitObjectKey(key);
    const dp = this.dataPlanes.get(namespace, name) as DataPlaneObject | undefined;
    // Gone or going: the garbage collector removes what it owned (owner references).
    if (!dp || dp.metadata.deletionTimestamp) return;
    const target = eventTarget(dp);

    const desired = renderDataPlane(dp, this.o.renderOptions);
    let failure: Error | undefined;
    try {
      const outcome = await applyObjects(this.o.rest, desired, (o) => this.live(o));
      if (outcome.changed.length > 0) {
        this.log.info({ dataPlane: key, changed: outcome.changed }, 'applied managed objects');
        this.o.events?.event(target, 'Normal', 'Applied', 'Apply', `applied ${outcome.changed.join(', ')}`);
      }
    } catch (err) {
      failure = err as Error;
      this.o.events?.event(target, 'Warning', 'ApplyFailed', 'Apply', (err as Error).message);
    }
    try {
      const stale = objectsToPrune({ name, uid: dp.metadata.uid }, desired, this.liveOf(namespace, name));
      const deleted = await pruneObjects(this.o.rest, stale);
      if (deleted.length > 0) {
        this.log.info({ dataPlane: key, deleted }, 'deleted managed objects no longer wanted');
        this.o.events?.event(target, 'Normal', 'Deleted', 'Delete', `deleted ${deleted.join(', ')}: no longer wanted`);
      }
    } catch (err) {
      failure ??= err as Error;
      this.o.events?.event(target, 'Warning', 'DeleteFailed', 'Delete', (err as Error).message);
    }

    const status = dataPlaneStatus({
      namespace,
      name,
      deployments: {
        envoy: this.deployment(namespace, workloadName(name, 'envoy')),
        extproc: this.deployment(namespace, workloadName(name, 'extproc')),
      },
      nodes: this.o.nodes(),
      configVersion: this.o.configVersion(),
      compileConditions: this.o.compileOutcome?.(namespace, name)?.conditions,
    });
    await this.o.writer.write(dp, {
      conditions: status.conditions,
      configVersion: status.configVersion,
      components: status.components,
      ...(this.o.lastAccepted ? { lastAccepted: this.o.lastAccepted(namespace, name) } : {}),
    });
    // Thrown after the status is written, so the queue retries with backoff.
    if (failure) throw failure;
  }

  private live(o: KubeObject): KubeObject | undefined {
    return this.managed.get(o.kind as ManagedKindName)?.get(o.metadata.namespace, o.metadata.name) as
      KubeObject | undefined;
  }

  /** The cached managed objects labelled as this DataPlane's. */
  private liveOf(namespace: string, name: string): KubeObject[] {
    return [...this.managed.values()]
      .flatMap((i) => i.list(namespace) as KubeObject[])
      .filter((o) => o.metadata.labels?.[labelKeys.dataPlane] === name);
  }

  private deployment(namespace: string, name: string): DeploymentState | undefined {
    return this.managed.get('Deployment')?.get(namespace, name) as DeploymentState | undefined;
  }
}

/** The name of the DataPlane that controls the object, if one does. */
function controllerDataPlane(o: Obj): string | undefined {
  return o.metadata?.ownerReferences?.find(
    (r) => r.controller === true && r.kind === dataPlaneKind && r.apiVersion.startsWith(`${group}/`),
  )?.name;
}

function eventTarget(dp: DataPlaneObject) {
  return {
    apiVersion: dp.apiVersion ?? apiVersion,
    kind: dp.kind ?? dataPlaneKind,
    metadata: { name: dp.metadata.name, namespace: dp.metadata.namespace, uid: dp.metadata.uid },
  };
}
