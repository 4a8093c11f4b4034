// For tests: the certificate reconciles (reconcile.ts) against an in-memory Secret store with a fake
// clock, recording every Secret version written and every Event, so a test can drive months of
// renewals and a CA rotation in milliseconds and check the order of what happened.
import { envoyLeaf, extprocLeaf, listenerLeaf, webhookLeaf, xdsLeaf, type LeafSpec, type SanSet } from './leaves.ts';
import { readOperatorCa } from './authorities.ts';
import {
  defaultPlannerOptions,
  planDataPlane,
  type DataPlaneInput,
  type OperatorInput,
  type OperatorView,
  type PlannerOptions,
} from './planner.ts';
import {
  reconcileDataPlaneCertificates,
  reconcileOperatorCertificates,
  type DataPlaneOutcome,
  type EventTargetRef,
  type OperatorOutcome,
  type ReconcileEnv,
} from './reconcile.ts';
import { renderSecret, secretView, type DesiredSecret, type SecretObject, type SecretView } from './secrets.ts';
import { caBundleSecretName, operatorCaSecretName, webhookTlsSecretName, xdsTlsSecretName } from '../api/names.ts';

export interface DataPlaneDef {
  namespace: string;
  name: string;
  durationMs?: number;
  renewBeforeMs?: number;
  caSecretName?: string;
  /** Issued HTTPS listeners and their SANs. */
  listeners?: { name: string; sans: SanSet }[];
}

export interface Version {
  seq: number;
  at: Date;
  key: string;
  view: SecretView;
  /** Written by the controller (false: by the test, as a hand edit). */
  ours: boolean;
}

export interface RecordedEvent {
  at: Date;
  regarding: string;
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export class MemoryWorld {
  now: Date;
  readonly planner: PlannerOptions;
  readonly operatorNamespace = 'gatehouse-system';
  readonly secrets = new Map<string, SecretObject>();
  readonly history: Version[] = [];
  readonly events: RecordedEvent[] = [];
  readonly dataPlanes = new Map<string, DataPlaneDef>();
  /** Apply fails for these Secret keys (namespace/name). */
  readonly failing = new Set<string>();
  /** Set: the admission webhook is served, its certificate carrying these extra names. */
  webhook: SanSet | undefined;
  private seq = 0;
  private readonly ownedAnnotations = new Map<string, Set<string>>();

  constructor(start: Date, planner: Partial<PlannerOptions> = {}) {
    this.now = start;
    this.planner = { ...defaultPlannerOptions, ...planner };
  }

  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
  }

  addDataPlane(def: DataPlaneDef): void {
    this.dataPlanes.set(`${def.namespace}/${def.name}`, def);
  }

  get(namespace: string, name: string): SecretView | undefined {
    const obj = this.secrets.get(`${namespace}/${name}`);
    return obj ? secretView(obj) : undefined;
  }

  /** A write that is not ours (a hand edit, a user's CA Secret). */
  put(
    namespace: string,
    name: string,
    data: Record<string, string>,
    extra: { type?: string; annotations?: Record<string, string>; labels?: Record<string, string> } = {},
  ): void {
    const previous = this.secrets.get(`${namespace}/${name}`);
    const obj: SecretObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace,
        uid: previous?.metadata?.uid ?? `uid-${name}`,
        resourceVersion: String(++this.seq),
        labels: extra.labels ?? previous?.metadata?.labels,
        annotations: extra.annotations ?? previous?.metadata?.annotations,
      },
      type: extra.type ?? previous?.type ?? 'Opaque',
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    };
    this.store(obj, false);
  }

  delete(namespace: string, name: string): void {
    this.secrets.delete(`${namespace}/${name}`);
  }

  private store(obj: SecretObject, ours: boolean): SecretObject {
    const key = `${obj.metadata!.namespace}/${obj.metadata!.name}`;
    this.secrets.set(key, obj);
    this.history.push({ seq: this.seq, at: this.now, key, view: secretView(obj), ours });
    return obj;
  }

  /** Server-side apply as far as it matters here: annotations another manager set stay; ours are replaced. */
  private apply(desired: DesiredSecret): Promise<SecretObject> {
    const key = `${desired.namespace}/${desired.name}`;
    if (this.failing.has(key)) return Promise.reject(new Error(`apply of ${key} refused (test)`));
    const obj = renderSecret(desired);
    const previous = this.secrets.get(key);
    const ours = this.ownedAnnotations.get(key) ?? new Set<string>();
    const theirs = Object.entries(previous?.metadata?.annotations ?? {}).filter(
      ([k]) => !ours.has(k) && !(k in desired.annotations),
    );
    obj.metadata!.annotations = { ...Object.fromEntries(theirs), ...desired.annotations };
    this.ownedAnnotations.set(key, new Set(Object.keys(desired.annotations)));
    obj.metadata!.uid = previous?.metadata?.uid ?? `uid-${desired.name}`;
    obj.metadata!.resourceVersion = String(++this.seq);
    return Promise.resolve(this.store(obj, true));
  }

  leaves(def: DataPlaneDef): LeafSpec[] {
    return [
      envoyLeaf(def.namespace, def.name),
      extprocLeaf(def.namespace, def.name),
      ...(def.listeners ?? []).map((l) => listenerLeaf(def.namespace, def.name, l.name, l.sans)),
    ];
  }

  xdsLeaf(): LeafSpec {
    return xdsLeaf(this.operatorNamespace, 'gatehouse-xds');
  }

  input(def: DataPlaneDef): DataPlaneInput {
    const leaves = this.leaves(def);
    const bundleName = caBundleSecretName(def.name);
    const secrets = new Map<string, SecretView>();
    for (const name of [bundleName, ...leaves.map((l) => l.secretName)]) {
      const view = this.get(def.namespace, name);
      if (view) secrets.set(name, view);
    }
    return {
      namespace: def.namespace,
      name: def.name,
      uid: `uid-dp-${def.name}`,
      bundleName,
      leaves,
      secrets,
      durationMs: def.durationMs ?? 2160 * 3_600_000,
      renewBeforeMs: def.renewBeforeMs,
      caSecretName: def.caSecretName,
      userCaSecret: def.caSecretName ? this.get(def.namespace, def.caSecretName) : undefined,
    };
  }

  operatorView(now: Date): OperatorView {
    return {
      namespace: this.operatorNamespace,
      ca: readOperatorCa(this.get(this.operatorNamespace, operatorCaSecretName), now),
      xds: this.get(this.operatorNamespace, xdsTlsSecretName),
    };
  }

  operatorInput(now: Date): OperatorInput {
    const operator = this.operatorView(now);
    return {
      namespace: this.operatorNamespace,
      ca: operator.ca,
      xds: operator.xds,
      xdsLeaf: this.xdsLeaf(),
      ...(this.webhook
        ? {
            webhook: {
              leaf: webhookLeaf(this.operatorNamespace, 'gatehouse-webhook', this.webhook),
              secret: this.get(this.operatorNamespace, webhookTlsSecretName),
            },
          }
        : {}),
      dataPlanes: [...this.dataPlanes.entries()].map(([key, def]) => {
        const input = this.input(def);
        return {
          key,
          bundle: input.secrets.get(input.bundleName),
          leaves: input.leaves.flatMap((l) => input.secrets.get(l.secretName) ?? []),
          userTrust: planDataPlane(now, this.planner, operator, input).userTrust,
        };
      }),
    };
  }

  env(): ReconcileEnv {
    return {
      now: () => this.now,
      planner: this.planner,
      operatorNamespace: this.operatorNamespace,
      operatorView: (now) => this.operatorView(now),
      operatorInput: (now) => this.operatorInput(now),
      apply: (desired) => this.apply(desired),
      events: {
        event: (target: EventTargetRef, type, reason, _action, note) => {
          this.events.push({
            at: this.now,
            regarding: `${target.kind}/${target.metadata.namespace ?? ''}/${target.metadata.name}`,
            type,
            reason,
            note,
          });
        },
      },
    };
  }

  reconcileOperator(): Promise<OperatorOutcome> {
    return reconcileOperatorCertificates(this.env());
  }

  reconcileDataPlane(key: string): Promise<DataPlaneOutcome> {
    const def = this.dataPlanes.get(key)!;
    const target = {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'DataPlane',
      metadata: { name: def.name, namespace: def.namespace, uid: `uid-dp-${def.name}` },
    };
    return reconcileDataPlaneCertificates(this.env(), target, () => this.input(def));
  }

  /**
   * Reconciles the operator and every DataPlane until a round writes nothing (as informer events
   * would keep enqueueing them); returns the last outcomes and the earliest time anything wants to look again.
   */
  async settle(
    maxRounds = 10,
  ): Promise<{ operator: OperatorOutcome; dataPlanes: Map<string, DataPlaneOutcome>; nextCheckAt: Date }> {
    for (let round = 0; ; round++) {
      const before = this.history.length;
      const operator = await this.reconcileOperator();
      const dataPlanes = new Map<string, DataPlaneOutcome>();
      for (const key of this.dataPlanes.keys()) dataPlanes.set(key, await this.reconcileDataPlane(key));
      if (this.history.length === before || round >= maxRounds) {
        const nextCheckAt = new Date(
          Math.min(operator.nextCheckAt.getTime(), ...[...dataPlanes.values()].map((o) => o.nextCheckAt.getTime())),
        );
        return { operator, dataPlanes, nextCheckAt };
      }
    }
  }

  /** settle(), then jump the clock to the next wake-up, until `done` or `maxWakeups`. */
  async runUntil(done: () => boolean, maxWakeups = 200): Promise<void> {
    for (let i = 0; i < maxWakeups; i++) {
      const { nextCheckAt } = await this.settle();
      if (done()) return;
      this.now = new Date(Math.max(nextCheckAt.getTime(), this.now.getTime() + 1000));
    }
    throw new Error(`runUntil: not done after ${maxWakeups} wake-ups`);
  }
}
