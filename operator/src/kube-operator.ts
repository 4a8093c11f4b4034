// The operator against a cluster (in-cluster or a kubeconfig): the kube source's informers feed the
// snapshot controller, which compiles and publishes over ADS on every replica; the Lease-elected
// leader alone writes status and manages DataPlane workloads (docs/architecture.md, The operator).
import { hostname } from 'node:os';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.ts';
import { credentialKeySecretName, defaultLeaseName, fieldManager, credentialSecretLabel } from './api/names.ts';
import type { IrEndpoint } from './compile/ir.ts';
import { DataPlaneController } from './controllers/dataplane/controller.ts';
import { extProcLinkFor } from './controllers/dataplane/extproc-link.ts';
import { NodeReports } from './controllers/node-reports.ts';
import { CertificateController } from './certs/controller.ts';
import { XdsTlsUnavailableError } from './certs/errors.ts';
import { IssuedXdsTls } from './certs/xds-material.ts';
import type { ServerTls } from '../../lib/tls/flags.ts';
import { defaultTlsPolicy } from '../../lib/tls/policy.ts';
import { RemediationController } from './remediation/controller.ts';
import { mutualTlsDeepCheck } from './remediation/deep-check.ts';
import { SnapshotController, type CompiledState } from './controllers/snapshot.ts';
import { DebugSessionController, KubeCaptureStore } from './controllers/debug-sessions.ts';
import { captureSessionIndex, DebugCaptureService, type CaptureSessionIndex } from './xds/debug-capture.ts';
import { StatusController } from './controllers/status.ts';
import { EventRecorder } from './kube/events.ts';
import { InformerFactory } from './kube/informer-factory.ts';
import { LeaderElector } from './kube/leader-election.ts';
import { KubeMetrics } from './kube/metrics.ts';
import { KubeRest } from './kube/rest.ts';
import { StatusWriter, type StatusTarget } from './kube/status-writer.ts';
import { CredentialKeyMissingError, insecureDevKeyFlag } from './source/credential-key.ts';
import { KubeSource } from './source/kube.ts';
import { XdsControlPlane } from './xds/control-plane.ts';
import { startWebhook, type RunningWebhook, type WebhookOptions } from './admission/webhook.ts';

export interface KubeOperatorOptions {
  kc: k8s.KubeConfig;
  log: Logger;
  /** The operator's own namespace: its Lease, the credential hash key Secret, its xDS Service. */
  namespace: string;
  /** Watch one namespace; default all. */
  watchNamespace?: string;
  xdsPort: number;
  metricsPort?: number;
  host?: string;
  /** This replica's name in the Lease and in Events (the pod name in a cluster). */
  identity?: string;
  leaderElection?: {
    enabled?: boolean;
    leaseName?: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
    releaseOnStop?: boolean;
  };
  /** Called after every status write (tests count them). */
  onStatusWrite?: (target: StatusTarget) => void;
  /** Where Envoy reaches extproc; default the first DataPlane's extproc Service. */
  extProc?: IrEndpoint;
  /** What DataPlane pods dial for xDS, and the images they run. */
  dataPlane?: { xds: { host: string; port: number }; envoyImage: string; gatehouseImage: string };
  debounceMs?: number;
  processMetrics?: boolean;
  /**
   * TLS of the xDS server: 'issued' serves the certificate the certificates controller issues
   * (gatehouse-xds-tls, client certificates required from the CAs it trusts); ServerTls serves files;
   * none serves plaintext (development, tests).
   */
  xdsTls?: 'issued' | ServerTls;
  /** Timings of the node reports (tests shorten them). */
  nodeReports?: { heartbeatMs?: number; staleAfterMs?: number; debounceMs?: number };
  /**
   * Run with the fixed development credential hash key when the key Secret is missing
   * (--insecure-dev-credential-key). Without it, a missing key is CredentialKeyMissingError at start.
   */
  insecureDevCredentialKey?: boolean;
  /** Serve the validating admission webhook on every replica (docs/operations.md, Admission webhook). */
  webhook?: WebhookOptions;
}

export interface KubeOperator {
  controlPlane: XdsControlPlane;
  source: KubeSource;
  /** The shared informers (describe(): which collections are watched, which are views). */
  informers: InformerFactory;
  snapshots: SnapshotController;
  xdsPort: number;
  metricsPort?: number;
  /** The admission webhook's port, when it is served. */
  webhookPort?: number;
  isLeader(): boolean;
  stop(): Promise<void>;
}

/** The hosts of the ApiProxies: the names a listener certificate carries. */
function proxyHosts(proxies: readonly k8s.KubernetesObject[]): string[] {
  const hosts = new Set<string>();
  for (const p of proxies)
    for (const h of ((p as { spec?: { hosts?: unknown } }).spec?.hosts as string[] | undefined) ?? [])
      if (typeof h === 'string') hosts.add(h);
  return [...hosts].sort();
}

/** How many watches the operator runs, and how many collections are served as views of them. */
function informerCounts(factory: InformerFactory): { watches: number; views: number } {
  const d = factory.describe();
  return { watches: d.informers.length, views: d.views.length };
}

export async function startKubeOperator(options: KubeOperatorOptions): Promise<KubeOperator> {
  const { kc, log } = options;
  const identity = options.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const rest = new KubeRest(kc, { userAgent: `gatehouse-operator/${identity}` });
  const issuedTls = options.xdsTls === 'issued' ? new IssuedXdsTls(log) : undefined;
  const serverTls: ServerTls | undefined = issuedTls
    ? { watcher: issuedTls, policy: defaultTlsPolicy, clientAuth: 'required' }
    : typeof options.xdsTls === 'object'
      ? options.xdsTls
      : undefined;
  const controlPlane = new XdsControlPlane({
    log,
    processMetrics: options.processMetrics,
    ...(serverTls ? { tls: serverTls } : {}),
    // Every certificate the operator issues names its DataPlane: a node must be the one it names.
    requireIdentity: issuedTls !== undefined,
  });
  const metrics = new KubeMetrics(controlPlane.metrics.registry);
  // One informer per collection, shared by every controller that reads it (kube/informer-factory.ts).
  // Everyone asks before start(), so a narrower collection becomes a view of a broader one.
  const informers = new InformerFactory({ rest, log: log.child({ component: 'informers' }), metrics });
  const source = new KubeSource({
    kc,
    rest,
    log,
    watchNamespace: options.watchNamespace,
    operatorNamespace: options.namespace,
    metrics,
    informers,
  });
  // With issued certificates the DataPlane pods speak mutual TLS to xDS and to each other.
  const mtls = options.xdsTls === 'issued';
  const snapshots = new SnapshotController({
    source,
    controlPlane,
    log,
    debounceMs: options.debounceMs,
    compileOptions: () => ({ extProcFor: extProcLinkFor({ extProc: options.extProc, mtls }) }),
    metrics: controlPlane.metrics,
  });

  let leading = false;
  const isLeader = () => leading;
  const events = new EventRecorder({ rest, controller: 'gatehouse.dev/operator', instance: identity, log });
  const writer = new StatusWriter({ rest, log, events, fieldManager, onWrite: options.onStatusWrite });
  const reports = new NodeReports({
    kc,
    rest,
    log,
    namespace: options.namespace,
    identity,
    registry: controlPlane.registry,
    metrics,
    informers,
    ...options.nodeReports,
  });
  const dataPlanes = options.dataPlane
    ? new DataPlaneController({
        rest,
        kc,
        log,
        writer,
        events,
        isLeader,
        namespace: options.watchNamespace,
        informers,
        renderOptions: { ...options.dataPlane, operatorNamespace: options.namespace, mtls },
        nodes: () => reports.nodes(),
        configVersion: () => snapshots.current()?.version,
        compileOutcome: (namespace: string, name: string) =>
          snapshots.current()?.outcomes.get(`DataPlane/${namespace}/${name}`),
        lastAccepted: (namespace: string, name: string) => {
          const accepted = snapshots.current()?.lastAccepted.get(`DataPlane/${namespace}/${name}`);
          const spec = (accepted?.object as { spec?: unknown } | undefined)?.spec;
          return accepted && spec ? { generation: accepted.generation, spec } : undefined;
        },
      })
    : undefined;
  // Zombie pods and capacity signals of every DataPlane's pods (leader only; its checks run everywhere cheap).
  const remediation = options.dataPlane
    ? new RemediationController({
        rest,
        kc,
        log,
        writer,
        events,
        isLeader,
        namespace: options.watchNamespace,
        registry: controlPlane.metrics.registry,
        kubeMetrics: metrics,
        informers,
        // Under mutual TLS extproc requires a client certificate: the operator presents its own (the
        // issued xDS certificate, also clientAuth) and verifies the pod, dialled by IP, against its
        // DataPlane's extproc Service name. No checks until that certificate is loaded.
        ...(issuedTls ? { deepCheck: mutualTlsDeepCheck(issuedTls) } : {}),
      })
    : undefined;
  // The CA, the leaves of every DataPlane and the xDS server's own certificate (leader only).
  const issueCertificates = options.dataPlane !== undefined || options.webhook !== undefined;
  const certs = issueCertificates
    ? new CertificateController({
        rest,
        kc,
        log,
        events,
        writer,
        isLeader,
        operatorNamespace: options.namespace,
        namespace: options.watchNamespace,
        registry: controlPlane.metrics.registry,
        informers,
        xds: options.dataPlane?.xds.host.includes('.')
          ? { dns: [options.dataPlane.xds.host] }
          : { serviceName: options.dataPlane?.xds.host },
        // Every DataPlane serves every proxy (one listener list), so each listener names every host.
        listenerHosts: () => proxyHosts(source.list('ApiProxy')),
        ...(options.webhook ? { webhook: options.webhook } : {}),
      })
    : undefined;

  await informers.start();
  log.info(
    { identity, watchNamespace: options.watchNamespace ?? '(all)', ...informerCounts(informers) },
    'informers synced',
  );
  if (source.credentialHashKey() === undefined) {
    if (!options.insecureDevCredentialKey) {
      await informers.stop();
      throw new CredentialKeyMissingError(options.namespace);
    }
    log.warn(
      { secret: `${options.namespace}/${credentialKeySecretName}`, flag: insecureDevKeyFlag },
      'no credential hash key: hashing consumer keys with the fixed, public development key (never in production)',
    );
  }

  // Debug captures from extproc, on the xDS port and its TLS (docs/operations.md#debug-sessions).
  let sessionIndex: { state: CompiledState; index: CaptureSessionIndex } | undefined;
  const captures = new DebugCaptureService({
    registry: controlPlane.registry,
    log: log.child({ component: 'debug-capture' }),
    requireIdentity: issuedTls !== undefined,
    store: new KubeCaptureStore({ rest, log }),
    sessions: () => {
      const state = snapshots.current();
      if (!state) return undefined;
      if (sessionIndex?.state !== state) {
        const ended = state.debugSessions.flatMap((o) => (o.active || !o.uid ? [] : [o.uid]));
        sessionIndex = { state, index: captureSessionIndex(state.snapshot, ended) };
      }
      return sessionIndex.index;
    },
  });
  controlPlane.addService(captures.definition(), captures.implementation());

  snapshots.start();
  const ports = await controlPlane.listen({
    host: options.host,
    xdsPort: options.xdsPort,
    metricsPort: options.metricsPort,
  });

  await reports.start();
  const onNodesChanged = (handler: () => void) => {
    const a = controlPlane.registry.onEvent((event) => {
      if (event.kind !== 'acked') handler();
    });
    const b = reports.onChange(handler);
    return () => {
      a();
      b();
    };
  };
  const status = new StatusController({
    source,
    snapshots,
    nodes: () => reports.nodes(),
    onNodesChanged,
    writer,
    log,
    isLeader,
    metrics,
    unlabelledSecret: async (namespace, name) => {
      // Metadata only: the Secret's data never leaves the apiserver for this.
      const list = await rest.request<{ items?: { metadata?: { labels?: Record<string, string> } }[] }>(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
        {
          query: { fieldSelector: `metadata.name=${name}` },
          accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
        },
      );
      const secret = list.items?.[0];
      return secret !== undefined && secret.metadata?.labels?.[credentialSecretLabel] !== 'true';
    },
  });
  status.start();
  const debugSessions = new DebugSessionController({ source, snapshots, writer, log, isLeader, metrics });
  debugSessions.start();
  if (dataPlanes) {
    await dataPlanes.start();
    snapshots.onCompiled(() => dataPlanes.enqueueAll());
    let timer: NodeJS.Timeout | undefined;
    onNodesChanged(() => {
      timer ??= setTimeout(() => {
        timer = undefined;
        dataPlanes.enqueueAll();
      }, 250);
    });
  }

  const election = options.leaderElection ?? {};
  const leaseName = election.leaseName ?? defaultLeaseName;
  await remediation?.start();
  await certs?.start();
  if (issuedTls) {
    if (!certs) throw new XdsTlsUnavailableError();
    issuedTls.attach(certs);
  }
  if (certs) snapshots.onCompiled(() => certs.enqueueAll());
  const webhook: RunningWebhook | undefined =
    options.webhook && certs
      ? await startWebhook({
          options: { ...options.webhook, host: options.webhook.host ?? options.host },
          certs,
          rest,
          log,
          isLeader,
          registry: controlPlane.metrics.registry,
          metrics,
        })
      : undefined;

  const becameLeader = () => {
    leading = true;
    metrics.leader.set({ lease: leaseName }, 1);
    log.info({ identity }, 'leading: writing status and managing workloads');
    status.enqueueAll();
    debugSessions.enqueueAll();
    dataPlanes?.enqueueAll();
    remediation?.enqueueAll();
    certs?.enqueueAll();
    webhook?.enqueue();
    void reports.collectGarbage();
  };
  const elector =
    election.enabled === false
      ? undefined
      : new LeaderElector({
          rest,
          namespace: options.namespace,
          name: leaseName,
          identity,
          log,
          // The elector's defaults are client-go's (15 s, 10 s, 2 s); an undefined here must not override them.
          leaseDurationMs: election.leaseDurationMs ?? 15_000,
          renewDeadlineMs: election.renewDeadlineMs ?? 10_000,
          retryPeriodMs: election.retryPeriodMs ?? 2_000,
          releaseOnStop: election.releaseOnStop ?? true,
          onStartedLeading: becameLeader,
          onStoppedLeading: () => {
            leading = false;
            metrics.leader.set({ lease: leaseName }, 0);
            log.warn({ identity }, 'lost the lease: no longer writing status or managing workloads');
          },
          onNewLeader: (leader) => log.info({ leader }, 'leader observed'),
        });
  if (elector) elector.start();
  else becameLeader();

  return {
    controlPlane,
    source,
    informers,
    snapshots,
    ...ports,
    ...(webhook ? { webhookPort: webhook.port } : {}),
    isLeader,
    async stop() {
      // Release the lease first so the next replica takes over at once, then drain.
      if (elector) await elector.stop();
      leading = false;
      snapshots.stop();
      await status.stop();
      await debugSessions.stop();
      await dataPlanes?.stop();
      await remediation?.stop();
      await webhook?.stop();
      await certs?.stop();
      issuedTls?.close();
      await reports.stop();
      await events.flush();
      await source.stop();
      await informers.stop();
      await controlPlane.stop();
    },
  };
}
