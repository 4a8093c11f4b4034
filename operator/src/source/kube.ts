// The kube source: one informer per source of objects (Contour's "one processor per source"), and a
// builder that reads only their caches. It hands the compiler the same SourceObject values the folder
// source does, plus what only a cluster has: the ready endpoints of Services (from EndpointSlices).
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.ts';
import { kinds } from '../api/kinds.ts';
import {
  credentialKeyDataKey,
  credentialKeySecretName,
  credentialSecretLabel,
  dataPlanePodSelector,
} from '../api/names.ts';
import type { IrEndpoint } from '../compile/ir.ts';
import type { SourceObject } from '../compile/intake.ts';
import { InformerFactory, type Lister } from '../kube/informer-factory.ts';
import type { InformerEvent } from '../kube/informer.ts';
import type { KubeMetrics } from '../kube/metrics.ts';
import type { KubeRest } from '../kube/rest.ts';
import { resources, type OurKind, type ResourceType } from '../watches.ts';
import { resourceConfigMapLabel } from '../../../protos/policies/schema.ts';

export type SourceKind =
  | 'ApiProxy'
  | 'ApiPolicy'
  | 'ApiProduct'
  | 'Developer'
  | 'DeveloperApp'
  | 'DataPlane'
  | 'KeyValueMap'
  | 'SharedFlow'
  | 'DebugSession'
  | 'Secret'
  | 'ConfigMap'
  | 'Service'
  | 'EndpointSlice'
  | 'Pod'
  | 'Node';

export interface SourceChange {
  kind: SourceKind;
  event: InformerEvent;
  namespace?: string;
  name: string;
  /** Only the status changed (our own writes, mostly): nothing to recompile. */
  statusOnly: boolean;
}

export interface KubeSourceOptions {
  kc: k8s.KubeConfig;
  rest: KubeRest;
  log: Logger;
  /** Watch one namespace; default all. Nodes are cluster-scoped either way. */
  watchNamespace?: string;
  /** Where the credential hash key Secret lives (the operator's namespace). */
  operatorNamespace: string;
  metrics?: KubeMetrics;
  /**
   * The operator's shared informers; without it the source makes a factory of its own (tests) and
   * starts and stops it with itself.
   */
  informers?: InformerFactory;
}

interface EndpointSlice extends k8s.KubernetesObject {
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean; terminating?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

interface Service extends k8s.KubernetesObject {
  spec?: { ports?: { name?: string; port?: number; protocol?: string }[] };
}

export class KubeSource {
  readonly informers: Record<SourceKind, Lister>;
  private readonly options: KubeSourceOptions;
  private readonly factory: InformerFactory;
  private readonly ownFactory: boolean;
  /** The credential hash key Secret alone: in the operator's namespace, which need not be a watched one. */
  private readonly credentialKey: Lister;
  private readonly handlers = new Set<(change: SourceChange) => void>();
  private lastCredentialHashKey: string | undefined;
  private credentialKeyGone = false;

  constructor(options: KubeSourceOptions) {
    this.options = options;
    this.ownFactory = !options.informers;
    this.factory =
      options.informers ?? new InformerFactory({ rest: options.rest, log: options.log, metrics: options.metrics });
    const namespace = options.watchNamespace;
    const lister = (r: ResourceType, name: string, labelSelector?: string) =>
      this.factory.lister({ name, group: r.group, version: r.version, resource: r.resource, namespace, labelSelector });
    const ours = Object.fromEntries(
      kinds.map((k) => [k.kind, lister(resources[k.kind as OurKind], k.plural)]),
    ) as Record<OurKind, Lister>;
    this.informers = {
      ...ours,
      Secret: lister(resources.Secret, 'secrets', credentialSecretLabel),
      // Policy resources (stylesheets, schemas, scripts) by configMapRef: only the opted-in ConfigMaps.
      ConfigMap: lister(resources.ConfigMap, 'resource-configmaps', `${resourceConfigMapLabel}=true`),
      Service: lister(resources.Service, 'services'),
      EndpointSlice: lister(resources.EndpointSlice, 'endpointslices'),
      Pod: lister(resources.Pod, 'pods', dataPlanePodSelector),
      Node: this.factory.lister({ name: 'nodes', version: 'v1', resource: 'nodes' }),
    };
    // Watching every namespace (or the operator's own), this is a view of the Secret informer above;
    // watching another namespace, a watch of its own of one Secret.
    this.credentialKey = this.factory.lister({
      name: 'credential-hash-key',
      version: 'v1',
      resource: 'secrets',
      namespace: options.operatorNamespace,
      labelSelector: credentialSecretLabel,
      fieldSelector: `metadata.name=${credentialKeySecretName}`,
    });
    for (const [kind, informer] of Object.entries(this.informers) as [SourceKind, Lister][]) {
      informer.onChange((event, obj, old) => this.emit(kind, event, obj, old));
    }
    // Outside the watched namespaces the key's changes are reported by its own informer.
    if (namespace !== undefined && namespace !== options.operatorNamespace)
      this.credentialKey.onChange((event, obj, old) => this.emit('Secret', event, obj, old));
  }

  /** Resolves once every informer has listed (the caches are complete). */
  async start(): Promise<void> {
    await this.factory.start();
  }

  /** Stops the informers when they are the source's own; shared ones stop with the operator. */
  async stop(): Promise<void> {
    if (this.ownFactory) await this.factory.stop();
  }

  get synced(): boolean {
    return Object.values(this.informers).every((i) => i.synced) && this.credentialKey.synced;
  }

  onChange(handler: (change: SourceChange) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** An object of our kinds from the cache (the status writer diffs against it). */
  get(kind: SourceKind, namespace: string, name: string): k8s.KubernetesObject | undefined {
    return this.informers[kind].get(namespace, name);
  }

  list(kind: SourceKind, namespace?: string): k8s.KubernetesObject[] {
    return this.informers[kind].list(namespace);
  }

  /** What the compiler reads: our kinds and the opted-in Secrets and ConfigMaps. */
  objects(): SourceObject[] {
    const out: SourceObject[] = [];
    for (const k of kinds) for (const object of this.informers[k.kind as SourceKind].list()) out.push({ object });
    for (const object of this.informers.Secret.list()) out.push({ object });
    for (const object of this.informers.ConfigMap.list()) out.push({ object });
    return out;
  }

  /**
   * The credential hash key: `key` of the Secret gatehouse-credential-hash-key in the operator's
   * namespace. Once seen it is kept: a Secret deleted (or emptied) later leaves the last key in use,
   * never the development key (kube-operator.ts refuses to start without one).
   */
  credentialHashKey(): string | undefined {
    const secret = this.credentialKey.get(this.options.operatorNamespace, credentialKeySecretName) as
      { data?: Record<string, string> } | undefined;
    const encoded = secret?.data?.[credentialKeyDataKey];
    const key = encoded ? Buffer.from(encoded, 'base64').toString('utf8') : undefined;
    if (key !== undefined) {
      this.lastCredentialHashKey = key;
      this.credentialKeyGone = false;
    } else if (this.lastCredentialHashKey !== undefined && !this.credentialKeyGone) {
      this.credentialKeyGone = true;
      this.options.log.error(
        { secret: `${this.options.operatorNamespace}/${credentialKeySecretName}` },
        'the credential hash key Secret is gone or empty; keeping the last key (a restart will refuse to start without it)',
      );
    }
    return this.lastCredentialHashKey;
  }

  /**
   * Ready endpoints by "namespace/service:servicePort". A Service port maps to the EndpointSlice port
   * of the same name (the target port); serving-but-terminating and not-ready endpoints are left out.
   */
  serviceEndpoints(): Record<string, IrEndpoint[]> {
    const out: Record<string, IrEndpoint[]> = {};
    const byService = new Map<string, EndpointSlice[]>();
    for (const slice of this.informers.EndpointSlice.list() as EndpointSlice[]) {
      const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
      if (!service || (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6')) continue;
      const key = `${slice.metadata!.namespace}/${service}`;
      byService.set(key, [...(byService.get(key) ?? []), slice]);
    }
    for (const [key, slices] of byService) {
      const [namespace, name] = key.split('/') as [string, string];
      const service: Service | undefined = this.informers.Service.get(namespace, name);
      for (const sp of service?.spec?.ports ?? []) {
        if ((sp.protocol ?? 'TCP') !== 'TCP' || sp.port === undefined) continue;
        const endpoints: IrEndpoint[] = [];
        for (const slice of slices) {
          const port = slice.ports?.find(
            (p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === 'TCP',
          )?.port;
          if (port === undefined) continue;
          for (const e of slice.endpoints ?? []) {
            if (e.conditions?.ready === false) continue;
            for (const host of e.addresses ?? []) endpoints.push({ host, port });
          }
        }
        if (endpoints.length > 0) out[`${key}:${sp.port}`] = endpoints;
      }
    }
    return out;
  }

  private emit(kind: SourceKind, event: InformerEvent, obj: k8s.KubernetesObject, old?: k8s.KubernetesObject): void {
    const statusOnly = event === 'update' && old !== undefined && isStatusOnlyChange(old, obj);
    const change: SourceChange = {
      kind,
      event,
      namespace: obj.metadata?.namespace,
      name: obj.metadata?.name ?? '',
      statusOnly,
    };
    for (const handler of this.handlers) {
      try {
        handler(change);
      } catch (err) {
        this.options.log.error({ err: (err as Error).message, kind }, 'source change handler failed');
      }
    }
  }
}

/** Whether an update left everything the compiler reads as it was (our kinds: generation; others: all but status). */
function isStatusOnlyChange(old: k8s.KubernetesObject, obj: k8s.KubernetesObject): boolean {
  const a = old as { metadata?: { generation?: number; labels?: unknown; annotations?: unknown } };
  const b = obj as typeof a;
  if (a.metadata?.generation === undefined || b.metadata?.generation === undefined) return false;
  return (
    a.metadata.generation === b.metadata.generation &&
    JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(b.metadata.labels ?? {})
  );
}
