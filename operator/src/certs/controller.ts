// The certificate controller: issues and rotates the CA, trust bundles and leaf certificates of every
// DataPlane and of the operator's xDS server, as the planner (planner.ts) decides from the Secrets
// and the clock. Informers on DataPlanes, on the Secrets it manages (label-selected), on the user CA
// Secrets DataPlanes name (one field-selected informer each) and on the Envoy Services (their
// load-balancer addresses become listener SANs) feed a work queue keyed by DataPlane, plus one key
// for the operator's CA and xDS certificate. Every reconcile requeues itself for the next renewal or
// rotation step, so nothing waits for an event to renew. Only the leader writes; every replica keeps
// its caches, exports the expiry gauge and can hand the xDS server its certificate.
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../../lib/log.ts';
import { apiVersion } from '../api/common.ts';
import { durationMs } from '../compile/durations.ts';
import type { DataPlaneObject } from '../controllers/dataplane/render.ts';
import { InformerFactory, type Lister } from '../kube/informer-factory.ts';
import type { KubeMetrics } from '../kube/metrics.ts';
import { isConflict, resourcePath, type KubeRest } from '../kube/rest.ts';
import { WorkQueue } from '../kube/workqueue.ts';
import { resources, type ResourceType } from '../watches.ts';
import { bundlePem, readOperatorCa, type OperatorCa } from './authorities.ts';
import { CertificateSecretWriteError, CertificateSourceNotReadyError } from './errors.ts';
import {
  envoyLeaf,
  extprocLeaf,
  hostNames,
  listenerLeaf,
  parseSanList,
  webhookLeaf,
  xdsLeaf,
  type LeafSpec,
  type SanSet,
} from './leaves.ts';
import { parseCertificates } from './pki.ts';
import {
  defaultLeafDurationMs,
  defaultPlannerOptions,
  planDataPlane,
  type DataPlaneInput,
  type DataPlaneSummary,
  type OperatorInput,
  type OperatorView,
  type PlannerOptions,
} from './planner.ts';
import {
  reconcileDataPlaneCertificates,
  reconcileOperatorCertificates,
  type CertificateEvents,
  type EventTargetRef,
  type ReconcileEnv,
} from './reconcile.ts';
import { renderSecret, secretView, type DesiredSecret, type SecretObject, type SecretView } from './secrets.ts';
import type { CertificatesCondition } from './status.ts';
import { objectKey } from '../kube/keys.ts';
import {
  caBundleSecretName,
  certificateAnnotations,
  certificateSelector,
  dataPlaneKind,
  defaultWebhookServiceName,
  defaultXdsServiceName,
  fieldManager,
  labelKeys,
  listenerTlsSecretName,
  envoyServiceSelector,
  operatorCaSecretName,
  secretKeys,
  tlsSecretName,
  webhookTlsSecretName,
  workloadName,
  xdsTlsSecretName,
} from '../api/names.ts';

export type { CertificateEvents, EventTargetRef };

/** The status writer's contract (operator/src/kube/status-writer.ts). */
export interface CertificateStatusWriter {
  write(
    target: {
      apiVersion: string;
      kind: string;
      metadata: { name: string; namespace?: string; generation?: number; uid?: string };
      status?: unknown;
    },
    desired: { conditions: CertificatesCondition[]; [field: string]: unknown },
    options?: { observedGeneration?: boolean },
  ): Promise<boolean>;
}

export interface CertificateControllerOptions {
  rest: KubeRest;
  kc: k8s.KubeConfig;
  log: Logger;
  events?: CertificateEvents;
  writer: CertificateStatusWriter;
  isLeader: () => boolean;
  /** Where the operator CA (gatehouse-ca) and the xDS certificate (gatehouse-xds-tls) live. */
  operatorNamespace: string;
  /** Where gatehouse_certificate_expiry_timestamp_seconds is registered. */
  registry: Registry;
  now?: () => Date;
  /** How long pods take to see a changed Secret volume (default 90 s). */
  propagationDelayMs?: number;
  /** Operator CA lifetime (default 5 x 2160h); rotation starts at 2/3 of it. */
  caDurationMs?: number;
  /** Lifetime of the xDS server's certificate (default 2160h). */
  operatorLeafDurationMs?: number;
  /** Watch one namespace; default all. */
  namespace?: string;
  /** The xDS Service (default gatehouse-xds) and extra names and addresses for its certificate. */
  xds?: { serviceName?: string; dns?: string[]; ips?: string[] };
  /**
   * Issue the admission webhook's serving certificate (gatehouse-webhook-tls) for its Service (default
   * gatehouse-webhook) and extra names and addresses; without it, none is issued.
   */
  webhook?: { serviceName?: string; dns?: string[]; ips?: string[] };
  /** Host names the DataPlane's listeners serve (ApiProxy hosts): SANs of issued listener certificates. */
  listenerHosts?: (namespace: string, dataPlane: string) => readonly string[];
  concurrency?: number;
  metrics?: KubeMetrics;
  /**
   * The operator's shared informers (its owner starts and stops them); without it the controller
   * makes a factory of its own (tests) and starts and stops it with itself.
   */
  informers?: InformerFactory;
}

/** The xDS server's TLS material as the leader last wrote it; every replica can read it. */
export interface XdsTls {
  certPem: string;
  keyPem: string;
  /** The CAs client certificates must chain to (the operator CA and every user CA). */
  caPem: string;
  resourceVersion?: string;
}

type Obj = k8s.KubernetesObject;
type ServiceObject = Obj & { status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } };

export const expiryMetric = 'gatehouse_certificate_expiry_timestamp_seconds';

/** The queue key of the operator's own work (its CA and the xDS certificate); DataPlane keys are "namespace/name". */
export const operatorKey = '@operator';

/**
 * A write we made is used until the informer delivers it (read-your-writes), at most this long: the
 * net for a watch that re-listed past our version and will never deliver it.
 */
const overlayTtlMs = 30_000;
/** resourceVersions the watch delivered, kept per Secret: enough to tell whether ours already came. */
const deliveredKept = 8;
const userCaSyncTimeoutMs = 10_000;
/** How long after start a missing operator CA is taken for "being created" rather than reported. */
const caGraceMs = 30_000;
/** A leaf lives at least this long, whatever spec.certificates.duration says. */
const minLeafDurationMs = 60_000;

interface UserCaWatch {
  lister: Lister;
  release(): void;
  users: Set<string>;
  unsubscribe(): void;
}

export class CertificateController {
  private readonly o: CertificateControllerOptions;
  private readonly log: Logger;
  private readonly planner: PlannerOptions;
  private readonly now: () => Date;
  private readonly queue: WorkQueue<string>;
  private readonly factory: InformerFactory;
  private readonly ownFactory: boolean;
  private readonly dataPlanes: Lister;
  /** One all-namespace lister, or the watched namespace's and the operator namespace's. */
  private readonly secrets: Map<string | undefined, Lister>;
  private readonly services: Lister<ServiceObject>;
  private readonly userCas = new Map<string, UserCaWatch>();
  private readonly written = new Map<string, { obj: SecretObject; at: number }>();
  /** The last resourceVersions the watch delivered per Secret ("namespace/name"), newest last. */
  private readonly delivered = new Map<string, string[]>();
  private readonly xdsHandlers = new Set<(tls: XdsTls) => void>();
  private readonly webhookHandlers = new Set<() => void>();
  private readonly caHandlers = new Set<() => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly gauge: Gauge<'namespace' | 'secret' | 'kind'>;
  private stopped = false;
  private startedAt = 0;
  private readonly warnedSans = new Map<string, string>();

  constructor(options: CertificateControllerOptions) {
    this.o = options;
    this.log = options.log.child({ controller: 'certificates' });
    this.now = options.now ?? (() => new Date());
    this.planner = {
      ...defaultPlannerOptions,
      ...(options.propagationDelayMs !== undefined ? { propagationDelayMs: options.propagationDelayMs } : {}),
      ...(options.caDurationMs !== undefined ? { caDurationMs: options.caDurationMs } : {}),
      ...(options.operatorLeafDurationMs !== undefined
        ? { operatorLeafDurationMs: options.operatorLeafDurationMs }
        : {}),
    };
    const { rest, namespace, metrics } = options;
    this.queue = new WorkQueue<string>({ name: 'certificates', log: this.log, metrics });
    this.ownFactory = !options.informers;
    this.factory = options.informers ?? new InformerFactory({ rest, log: this.log, metrics });
    const lister = <T extends Obj = Obj>(
      r: ResourceType,
      name: string,
      ns: string | undefined,
      labelSelector?: string,
    ): Lister<T> =>
      this.factory.lister<T>({
        name,
        group: r.group,
        version: r.version,
        resource: r.resource,
        namespace: ns,
        labelSelector,
      });
    // DataPlanes: the kube source's informer. Envoy Services: a view of its informer of every Service.
    this.dataPlanes = lister(resources.DataPlane, 'dataplanes', namespace);
    const secretScopes = namespace === undefined ? [undefined] : [...new Set([namespace, options.operatorNamespace])];
    this.secrets = new Map(
      secretScopes.map((ns) => [
        ns,
        lister(resources.Secret, `certificates-secrets${ns ? `-${ns}` : ''}`, ns, certificateSelector),
      ]),
    );
    this.services = lister<ServiceObject>(
      resources.Service,
      'certificates-envoy-services',
      namespace,
      envoyServiceSelector,
    );
    const collect = (gauge: Gauge<'namespace' | 'secret' | 'kind'>) => this.collectExpiry(gauge);
    this.gauge = new Gauge({
      name: expiryMetric,
      help: 'notAfter of every certificate Gatehouse issues or signs with, as a Unix time, by namespace, Secret and kind (ca, leaf)',
      labelNames: ['namespace', 'secret', 'kind'],
      registers: [options.registry],
      collect() {
        collect(this);
      },
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.startedAt = performance.now();
    // First in the queue: the CA every DataPlane's certificates need.
    this.queue.add(operatorKey);
    this.unsubscribe.push(
      this.dataPlanes.onChange((_event, obj) => {
        this.syncUserCaWatches();
        this.queue.add(objectKey(obj));
        this.queue.add(operatorKey);
      }),
    );
    for (const informer of this.secrets.values())
      this.unsubscribe.push(informer.onChange((event, obj) => this.onSecret(event, obj)));
    this.unsubscribe.push(
      this.services.onChange((_event, obj) => {
        const dp = obj.metadata?.labels?.[labelKeys.dataPlane];
        if (dp) this.queue.add(`${obj.metadata?.namespace ?? ''}/${dp}`);
      }),
    );
    await this.factory.start();
    this.syncUserCaWatches();
    this.queue.run((key) => this.reconcile(key), { concurrency: this.o.concurrency ?? 2 });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe.splice(0)) u();
    await this.queue.shutDown();
    for (const watch of this.userCas.values()) {
      watch.unsubscribe();
      watch.release();
    }
    this.userCas.clear();
    if (this.ownFactory) await this.factory.stop();
    this.o.registry.removeSingleMetric(expiryMetric);
  }

  /** Re-examines everything (leadership gained, ApiProxy hosts changed). */
  enqueueAll(): void {
    this.queue.add(operatorKey);
    for (const dp of this.dataPlanes.list()) this.queue.add(objectKey(dp));
  }

  /** The xDS server's certificate, key and client CAs, or undefined before the leader has issued them. */
  xdsTls(): XdsTls | undefined {
    const view = this.secret(this.o.operatorNamespace, xdsTlsSecretName);
    const certPem = view?.data[secretKeys.tlsCert];
    const keyPem = view?.data[secretKeys.tlsKey];
    const caPem = view?.data[secretKeys.caCert];
    if (!certPem || !keyPem || !caPem) return undefined;
    return { certPem, keyPem, caPem, resourceVersion: view.resourceVersion };
  }

  /** Called with the xDS server's new TLS material whenever its Secret changes (on every replica). */
  onXdsTlsChange(handler: (tls: XdsTls) => void): () => void {
    this.xdsHandlers.add(handler);
    return () => this.xdsHandlers.delete(handler);
  }

  /** The admission webhook's certificate and key, or undefined before the leader has issued them. */
  webhookTls(): { certPem: string; keyPem: string; resourceVersion?: string } | undefined {
    const view = this.secret(this.o.operatorNamespace, webhookTlsSecretName);
    const certPem = view?.data[secretKeys.tlsCert];
    const keyPem = view?.data[secretKeys.tlsKey];
    if (!certPem || !keyPem) return undefined;
    return { certPem, keyPem, resourceVersion: view.resourceVersion };
  }

  /** Called whenever the webhook's Secret changes (on every replica). */
  onWebhookTlsChange(handler: () => void): () => void {
    this.webhookHandlers.add(handler);
    return () => this.webhookHandlers.delete(handler);
  }

  /**
   * Every CA of the operator's trust as PEM, sorted by fingerprint: the current one, and during a
   * rotation the next or the previous one too. What a caBundle verifying the operator's leaves holds;
   * undefined while there is no usable operator CA.
   */
  operatorCaBundle(): string | undefined {
    const ca = this.operatorCa(this.now());
    return ca.status === 'ok' && ca.trust.length > 0 ? bundlePem(ca.trust) : undefined;
  }

  /** Called whenever the operator CA's Secret changes (on every replica). */
  onOperatorCaChange(handler: () => void): () => void {
    this.caHandlers.add(handler);
    return () => this.caHandlers.delete(handler);
  }

  async reconcile(key: string): Promise<void | { requeueAfterMs?: number }> {
    if (!this.o.isLeader()) return;
    if (key === operatorKey) return this.reconcileOperator();
    const slash = key.indexOf('/');
    return this.reconcileDataPlane(key.slice(0, slash), key.slice(slash + 1));
  }

  // ---------------------------------------------------------------- events from the caches

  private onSecret(event: string, obj: SecretObject): void {
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    this.noteDelivered(`${ns}/${name}`, event, obj.metadata?.resourceVersion);
    if (ns === this.o.operatorNamespace && (name === operatorCaSecretName || name === xdsTlsSecretName)) {
      // The operator CA and the xDS server's trust decide what every DataPlane may do.
      this.enqueueAll();
      if (name === xdsTlsSecretName && event !== 'delete') this.announceXdsTls();
      if (name === operatorCaSecretName) this.announce(this.caHandlers, 'operator CA');
      return;
    }
    if (ns === this.o.operatorNamespace && name === webhookTlsSecretName) {
      this.queue.add(operatorKey);
      if (event !== 'delete') this.announce(this.webhookHandlers, 'webhook TLS');
      return;
    }
    const dp = obj.metadata?.labels?.[labelKeys.dataPlane];
    if (dp) {
      this.queue.add(`${ns}/${dp}`);
      this.queue.add(operatorKey);
    }
  }

  /**
   * Read-your-writes ends once the watch has delivered our version: from then on the cache holds it
   * or something newer (a watch delivers each object's versions in order). resourceVersions are
   * opaque, so this compares them only for equality.
   */
  private noteDelivered(key: string, event: string, resourceVersion: string | undefined): void {
    if (event === 'delete' || !resourceVersion) {
      this.delivered.delete(key);
      this.written.delete(key);
      return;
    }
    const seen = this.delivered.get(key) ?? [];
    seen.push(resourceVersion);
    if (seen.length > deliveredKept) seen.shift();
    this.delivered.set(key, seen);
    if (this.written.get(key)?.obj.metadata?.resourceVersion === resourceVersion) this.written.delete(key);
  }

  private announceXdsTls(): void {
    const tls = this.xdsTls();
    if (!tls) return;
    for (const handler of [...this.xdsHandlers]) {
      try {
        handler(tls);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'xDS TLS handler failed');
      }
    }
  }

  private announce(handlers: Set<() => void>, what: string): void {
    for (const handler of [...handlers]) {
      try {
        handler();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, `${what} handler failed`);
      }
    }
  }

  /** One field-selected informer per user CA Secret some DataPlane names; released when none does. */
  private syncUserCaWatches(): void {
    if (this.stopped) return;
    const wanted = new Map<string, Set<string>>();
    for (const dp of this.dataPlanes.list() as DataPlaneObject[]) {
      const name = dp.spec?.certificates?.caSecretName;
      if (!name || dp.metadata.deletionTimestamp) continue;
      const key = `${dp.metadata.namespace ?? ''}/${name}`;
      if (!wanted.has(key)) wanted.set(key, new Set());
      wanted.get(key)!.add(objectKey(dp));
    }
    for (const [key, watch] of this.userCas) {
      if (wanted.has(key)) continue;
      this.userCas.delete(key);
      watch.unsubscribe();
      watch.release();
    }
    for (const [key, users] of wanted) {
      const existing = this.userCas.get(key);
      if (existing) {
        existing.users = users;
        continue;
      }
      const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
      const acquired = this.factory.acquire({
        name: `certificates-user-ca-${namespace}-${name}`,
        version: 'v1',
        resource: 'secrets',
        namespace,
        fieldSelector: `metadata.name=${name}`,
      });
      const { lister } = acquired;
      const watch: UserCaWatch = { lister, release: () => acquired.release(), users, unsubscribe: () => {} };
      watch.unsubscribe = lister.onChange(() => {
        for (const user of watch.users) this.queue.add(user);
        this.queue.add(operatorKey);
      });
      this.userCas.set(key, watch);
    }
  }

  /** Waits (bounded) until the user CA Secret's informer has listed; false when it has not. */
  private async userCaReady(namespace: string, name: string): Promise<boolean> {
    const watch = this.userCas.get(`${namespace}/${name}`);
    if (!watch) return false;
    if (watch.lister.synced) return true;
    await Promise.race([
      watch.lister.whenSynced().catch(() => {}),
      sleep(userCaSyncTimeoutMs, undefined, { ref: false }),
    ]);
    return watch.lister.synced;
  }

  // ---------------------------------------------------------------- reads

  /** A managed Secret as we last wrote it or as the cache has it. */
  private secret(namespace: string, name: string): SecretView | undefined {
    const key = `${namespace}/${name}`;
    const written = this.written.get(key);
    if (written && performance.now() - written.at < overlayTtlMs) return secretView(written.obj);
    if (written) this.written.delete(key);
    const informer = this.secrets.get(undefined) ?? this.secrets.get(namespace);
    const obj = informer?.get(namespace, name);
    return obj ? secretView(obj) : undefined;
  }

  private userCaSecret(namespace: string, name: string): SecretView | undefined {
    const obj = this.userCas.get(`${namespace}/${name}`)?.lister.get(namespace, name);
    return obj ? secretView(obj) : undefined;
  }

  private operatorCa(now: Date): OperatorCa {
    return readOperatorCa(this.secret(this.o.operatorNamespace, operatorCaSecretName), now);
  }

  private operatorView(now: Date): OperatorView {
    return {
      namespace: this.o.operatorNamespace,
      ca: this.operatorCa(now),
      xds: this.secret(this.o.operatorNamespace, xdsTlsSecretName),
    };
  }

  private xdsLeafSpec(): LeafSpec {
    const x = this.o.xds ?? {};
    return xdsLeaf(this.o.operatorNamespace, x.serviceName ?? defaultXdsServiceName, {
      dns: x.dns ?? [],
      ips: x.ips ?? [],
    });
  }

  private webhookLeafSpec(webhook: NonNullable<CertificateControllerOptions['webhook']>): LeafSpec {
    return webhookLeaf(this.o.operatorNamespace, webhook.serviceName ?? defaultWebhookServiceName, {
      dns: webhook.dns ?? [],
      ips: webhook.ips ?? [],
    });
  }

  /** Names and addresses clients reach a DataPlane's HTTPS listeners by. */
  private listenerSans(dp: DataPlaneObject, namespace: string): SanSet {
    const extra = parseSanList(dp.metadata.annotations?.[certificateAnnotations.certificateSans]);
    const key = `${namespace}/${dp.metadata.name}`;
    // Said once per annotation value, not on every reconcile.
    if (extra.rejected.length > 0 && this.warnedSans.get(key) !== extra.rejected.join()) {
      this.warnedSans.set(key, extra.rejected.join());
      this.log.warn(
        { dataPlane: key, rejected: extra.rejected },
        `${certificateAnnotations.certificateSans}: not names or addresses; ignored`,
      );
    }
    const service = this.services.get(namespace, workloadName(dp.metadata.name, 'envoy'));
    const ingress = service?.status?.loadBalancer?.ingress ?? [];
    return {
      dns: [
        ...hostNames(this.o.listenerHosts?.(namespace, dp.metadata.name) ?? []),
        ...ingress.flatMap((i) => (i.hostname ? [i.hostname] : [])),
        ...extra.dns,
      ],
      ips: [...ingress.flatMap((i) => (i.ip ? [i.ip] : [])), ...extra.ips],
    };
  }

  private dataPlaneInput(dp: DataPlaneObject): DataPlaneInput {
    const namespace = dp.metadata.namespace ?? 'default';
    const name = dp.metadata.name;
    const spec = dp.spec ?? {};
    const certificates = spec.certificates ?? {};
    const sans = this.listenerSans(dp, namespace);
    const leaves: LeafSpec[] = [
      envoyLeaf(namespace, name),
      extprocLeaf(namespace, name),
      ...(spec.listeners ?? [])
        .filter((l) => l.tls?.issue === true)
        .map((l) => listenerLeaf(namespace, name, l.name, sans)),
    ];
    const bundleName = caBundleSecretName(name);
    const secrets = new Map<string, SecretView>();
    for (const secretName of [bundleName, ...leaves.map((l) => l.secretName)]) {
      const view = this.secret(namespace, secretName);
      if (view) secrets.set(secretName, view);
    }
    return {
      namespace,
      name,
      uid: dp.metadata.uid,
      bundleName,
      leaves,
      secrets,
      durationMs: Math.max(
        minLeafDurationMs,
        certificates.duration ? durationMs(certificates.duration) : defaultLeafDurationMs,
      ),
      renewBeforeMs: certificates.renewBefore ? durationMs(certificates.renewBefore) : undefined,
      caSecretName: certificates.caSecretName,
      userCaSecret: certificates.caSecretName ? this.userCaSecret(namespace, certificates.caSecretName) : undefined,
    };
  }

  private liveDataPlanes(): DataPlaneObject[] {
    return (this.dataPlanes.list() as DataPlaneObject[]).filter((dp) => !dp.metadata.deletionTimestamp);
  }

  // ---------------------------------------------------------------- writes

  private async applySecret(desired: DesiredSecret): Promise<SecretObject> {
    const path = resourcePath({ version: 'v1', resource: 'secrets', namespace: desired.namespace, name: desired.name });
    let applied: SecretObject;
    try {
      applied = await this.o.rest.apply<SecretObject>(path, renderSecret(desired), {
        fieldManager,
        force: true,
      });
    } catch (err) {
      throw new CertificateSecretWriteError(`${desired.namespace}/${desired.name}`, (err as Error).message, err);
    }
    const key = `${desired.namespace}/${desired.name}`;
    // The watch may have delivered our version, and someone else's after it, before this response
    // was read (a loaded event loop; an apply that changed nothing keeps the old version): then the
    // cache is already as new as our write, and an overlay would hide the newer version until the TTL.
    const rv = applied.metadata?.resourceVersion;
    if (rv && this.delivered.get(key)?.includes(rv)) this.written.delete(key);
    else this.written.set(key, { obj: applied, at: performance.now() });
    return applied;
  }

  private requeue(nextCheckAt: Date, now: Date): { requeueAfterMs: number } {
    return {
      requeueAfterMs: Math.max(1000, Math.min(this.planner.maxRequeueMs, nextCheckAt.getTime() - now.getTime())),
    };
  }

  // ---------------------------------------------------------------- reconciles

  private env(): ReconcileEnv {
    return {
      now: this.now,
      planner: this.planner,
      operatorNamespace: this.o.operatorNamespace,
      events: this.o.events,
      log: this.log,
      operatorView: (now) => this.operatorView(now),
      operatorInput: (now) => this.operatorInput(now, this.liveDataPlanes()),
      apply: (desired) => this.applySecret(desired),
    };
  }

  private async reconcileDataPlane(namespace: string, name: string): Promise<void | { requeueAfterMs?: number }> {
    const dp = this.dataPlanes.get(namespace, name) as DataPlaneObject | undefined;
    // Gone or going: the garbage collector removes its Secrets (owner references).
    if (!dp || dp.metadata.deletionTimestamp) return;
    const caName = dp.spec?.certificates?.caSecretName;
    if (caName && !(await this.userCaReady(namespace, caName)))
      throw new CertificateSourceNotReadyError(`the CA Secret ${namespace}/${caName} could not be listed yet`);
    // A fresh install: the operator key creates the CA in a moment; saying CertificatesReady=False
    // (a Warning Event) meanwhile would be noise. Past the grace period, the condition says why.
    if (this.operatorCa(this.now()).status === 'missing' && performance.now() - this.startedAt < caGraceMs) {
      this.queue.add(operatorKey);
      return { requeueAfterMs: 500 };
    }
    const outcome = await reconcileDataPlaneCertificates(this.env(), eventTarget(dp), () => this.dataPlaneInput(dp));
    try {
      // observedGeneration is the DataPlane controller's to set: it reconciles the whole spec.
      await this.o.writer.write(
        dp,
        { conditions: [outcome.condition], certificates: outcome.certificates },
        { observedGeneration: false },
      );
    } catch (err) {
      // Our copy of the DataPlane is older than the apiserver's (the write is conditional): its
      // update event is on the way and enqueues it again; the fallback requeue covers a lost one.
      if (!isConflict(err)) throw err;
      this.log.debug({ dataPlane: `${namespace}/${name}` }, 'status write conflicted; retrying with a fresh copy');
      return { requeueAfterMs: 1000 };
    }
    // Thrown after the status is written, so the queue retries with backoff.
    if (outcome.failures.length > 0)
      throw new CertificateSecretWriteError(
        outcome.failures[0]!.secret,
        outcome.failures.map((f) => f.message).join('; '),
      );
    return this.requeue(outcome.nextCheckAt, this.now());
  }

  private async reconcileOperator(): Promise<{ requeueAfterMs: number }> {
    // A user CA Secret not listed yet reads as missing; the planner then keeps the user CAs the
    // DataPlane's bundle lists, so the xDS trust loses none. Waiting (bounded) just avoids a rewrite.
    await Promise.all(
      this.liveDataPlanes().flatMap((dp) => {
        const caName = dp.spec?.certificates?.caSecretName;
        return caName ? [this.userCaReady(dp.metadata.namespace ?? 'default', caName)] : [];
      }),
    );
    const outcome = await reconcileOperatorCertificates(this.env());
    return this.requeue(outcome.nextCheckAt, this.now());
  }

  private operatorInput(now: Date, dataPlanes: DataPlaneObject[]): OperatorInput {
    const operator = this.operatorView(now);
    const summaries: DataPlaneSummary[] = dataPlanes.map((dp) => {
      const input = this.dataPlaneInput(dp);
      return {
        key: objectKey(dp),
        bundle: input.secrets.get(input.bundleName),
        leaves: input.leaves.flatMap((l) => input.secrets.get(l.secretName) ?? []),
        userTrust: planDataPlane(now, this.planner, operator, input).userTrust,
      };
    });
    return {
      namespace: this.o.operatorNamespace,
      ca: operator.ca,
      xds: operator.xds,
      xdsLeaf: this.xdsLeafSpec(),
      dataPlanes: summaries,
      ...(this.o.webhook
        ? {
            webhook: {
              leaf: this.webhookLeafSpec(this.o.webhook),
              secret: this.secret(this.o.operatorNamespace, webhookTlsSecretName),
            },
          }
        : {}),
    };
  }

  // ---------------------------------------------------------------- metrics

  private collectExpiry(gauge: Gauge<'namespace' | 'secret' | 'kind'>): void {
    gauge.reset();
    const set = (namespace: string, secret: string, kind: 'ca' | 'leaf', pem: string | undefined) => {
      const cert = pem ? tryFirst(pem) : undefined;
      if (cert) gauge.set({ namespace, secret, kind }, Math.floor(cert.notAfter.getTime() / 1000));
    };
    const opns = this.o.operatorNamespace;
    set(opns, operatorCaSecretName, 'ca', this.secret(opns, operatorCaSecretName)?.data[secretKeys.caCert]);
    set(opns, xdsTlsSecretName, 'leaf', this.secret(opns, xdsTlsSecretName)?.data[secretKeys.tlsCert]);
    if (this.o.webhook)
      set(opns, webhookTlsSecretName, 'leaf', this.secret(opns, webhookTlsSecretName)?.data[secretKeys.tlsCert]);
    for (const dp of this.liveDataPlanes()) {
      const ns = dp.metadata.namespace ?? 'default';
      const name = dp.metadata.name;
      const leafNames = [
        tlsSecretName(name, 'envoy'),
        tlsSecretName(name, 'extproc'),
        ...(dp.spec?.listeners ?? [])
          .filter((l) => l.tls?.issue === true)
          .map((l) => listenerTlsSecretName(name, l.name)),
      ];
      for (const secret of leafNames) set(ns, secret, 'leaf', this.secret(ns, secret)?.data[secretKeys.tlsCert]);
      const caName = dp.spec?.certificates?.caSecretName;
      if (caName) {
        const user = this.userCaSecret(ns, caName);
        set(ns, caName, 'ca', user?.data[secretKeys.tlsCert] ?? user?.data[secretKeys.caCert]);
      }
    }
  }
}

function tryFirst(pem: string) {
  try {
    return parseCertificates(pem)[0];
  } catch {
    return undefined;
  }
}

function eventTarget(dp: DataPlaneObject): EventTargetRef & { metadata: { uid: string } } {
  return {
    apiVersion: dp.apiVersion ?? apiVersion,
    kind: dp.kind ?? dataPlaneKind,
    metadata: { name: dp.metadata.name, namespace: dp.metadata.namespace, uid: dp.metadata.uid },
  };
}
