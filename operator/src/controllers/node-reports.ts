// Every replica serves xDS, so each data-plane node's ACKs land on one replica only; the leader must
// still report on all of them. Each replica therefore publishes what its nodes run to a ConfigMap of
// its own in the operator's namespace (the pattern of Istio's distribution reporter), and the leader
// reads every fresh report: its own registry live, the others' from their ConfigMaps.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.ts';
import {
  fieldManager,
  labelKeys,
  managedByValue,
  nodeReportAnnotations,
  nodeReportDataKey,
  nodeReportLabel,
  nodeReportName,
  nodeReportSelector,
} from '../api/names.ts';
import { InformerFactory, type Lister } from '../kube/informer-factory.ts';
import type { KubeMetrics } from '../kube/metrics.ts';
import { resourcePath, type KubeRest } from '../kube/rest.ts';
import type { NodeRegistry, NodeStatus } from '../xds/node-registry.ts';

export interface NodeReportsOptions {
  kc: k8s.KubeConfig;
  rest: KubeRest;
  log: Logger;
  namespace: string;
  identity: string;
  registry: NodeRegistry;
  /** A report not refreshed for this long is ignored (its replica is gone). */
  staleAfterMs?: number;
  heartbeatMs?: number;
  debounceMs?: number;
  metrics?: KubeMetrics;
  now?: () => number;
  /**
   * The operator's shared informers (its owner starts and stops them); without it the reports make a
   * factory of their own (tests) and start and stop it with themselves.
   */
  informers?: InformerFactory;
}

interface Report {
  identity: string;
  heartbeat: number;
  nodes: NodeStatus[];
}

export class NodeReports {
  private readonly options: NodeReportsOptions;
  private readonly factory: InformerFactory;
  private readonly ownFactory: boolean;
  private readonly informer: Lister;
  private readonly unsubscribeInformer: () => void;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly changeHandlers = new Set<() => void>();
  private readonly reports = new Map<string, { rv: string; report: Report | undefined }>();

  constructor(options: NodeReportsOptions) {
    this.options = options;
    this.ownFactory = !options.informers;
    this.factory =
      options.informers ?? new InformerFactory({ rest: options.rest, log: options.log, metrics: options.metrics });
    // Watching every namespace, a view of the DataPlane controller's informer of managed ConfigMaps.
    this.informer = this.factory.lister({
      name: 'node-reports',
      version: 'v1',
      resource: 'configmaps',
      namespace: options.namespace,
      labelSelector: nodeReportSelector,
    });
    this.unsubscribeInformer = this.informer.onChange((_event, obj) => {
      if (obj.metadata?.name === nodeReportName(options.identity)) return;
      for (const handler of this.changeHandlers) handler();
    });
  }

  async start(): Promise<void> {
    await this.factory.start();
    this.unsubscribe = this.options.registry.onEvent((event) => {
      if (event.kind !== 'acked') this.schedule();
    });
    this.heartbeat = setInterval(() => this.schedule(0), this.options.heartbeatMs ?? 10_000);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.heartbeat);
    clearTimeout(this.timer);
    await this.writing;
    this.unsubscribeInformer();
    if (this.ownFactory) await this.factory.stop();
  }

  /** Called when another replica's report changes. */
  onChange(handler: () => void): () => void {
    this.changeHandlers.add(handler);
    return () => this.changeHandlers.delete(handler);
  }

  /** Every node of every live replica; a node seen by two replicas (it moved) counts once, its newest record. */
  nodes(): NodeStatus[] {
    const now = this.options.now?.() ?? Date.now();
    const stale = this.options.staleAfterMs ?? 35_000;
    const byId = new Map<string, NodeStatus>();
    const consider = (n: NodeStatus) => {
      const seen = byId.get(n.id);
      if (!seen || n.connectedSince > seen.connectedSince) byId.set(n.id, n);
    };
    for (const n of this.options.registry.list()) consider(n);
    for (const cm of this.informer.list()) {
      const report = this.parsed(cm);
      if (!report || report.identity === this.options.identity || now - report.heartbeat > stale) continue;
      for (const n of report.nodes) consider(n);
    }
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** A report parsed once per resourceVersion: the status controller asks for nodes() on every reconcile. */
  private parsed(cm: k8s.KubernetesObject): Report | undefined {
    const name = cm.metadata?.name ?? '';
    const rv = cm.metadata?.resourceVersion ?? '';
    const cached = this.reports.get(name);
    if (cached && cached.rv === rv) return cached.report;
    const report = parseReport(cm);
    this.reports.set(name, { rv, report });
    if (this.reports.size > 4 * Math.max(1, this.informer.list().length)) this.reports.clear();
    return report;
  }

  /** Reports of replicas gone for a long time (their pods were replaced); the leader deletes them. */
  async collectGarbage(olderThanMs = 10 * 60_000): Promise<void> {
    const now = this.options.now?.() ?? Date.now();
    for (const cm of this.informer.list()) {
      const report = parseReport(cm);
      if (!report || report.identity === this.options.identity || now - report.heartbeat < olderThanMs) continue;
      await this.options.rest
        .delete(
          resourcePath({
            version: 'v1',
            resource: 'configmaps',
            namespace: this.options.namespace,
            name: cm.metadata!.name!,
          }),
        )
        .catch((err: unknown) =>
          this.options.log.debug({ err: (err as Error).message }, 'stale node report not deleted'),
        );
    }
  }

  private schedule(delayMs = this.options.debounceMs ?? 1_000): void {
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writing.then(() => this.publish());
    }, delayMs);
  }

  private async publish(): Promise<void> {
    const { rest, namespace, identity, registry, log } = this.options;
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: nodeReportName(identity),
        namespace,
        labels: { [nodeReportLabel]: 'true', [labelKeys.managedBy]: managedByValue },
        annotations: {
          [nodeReportAnnotations.heartbeat]: new Date(this.options.now?.() ?? Date.now()).toISOString(),
          [nodeReportAnnotations.identity]: identity,
        },
      },
      data: { [nodeReportDataKey]: JSON.stringify(registry.list()) },
    };
    try {
      await rest.apply(
        resourcePath({ version: 'v1', resource: 'configmaps', namespace, name: body.metadata.name }),
        body,
        { fieldManager, force: true },
      );
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        "cannot publish this replica's node report; the leader may miss its nodes until the next try",
      );
    }
  }
}

function parseReport(cm: k8s.KubernetesObject): Report | undefined {
  const o = cm as { metadata?: { annotations?: Record<string, string> }; data?: Record<string, string> };
  const identity = o.metadata?.annotations?.[nodeReportAnnotations.identity];
  const heartbeat = Date.parse(o.metadata?.annotations?.[nodeReportAnnotations.heartbeat] ?? '');
  if (!identity || Number.isNaN(heartbeat)) return undefined;
  try {
    const nodes = JSON.parse(o.data?.[nodeReportDataKey] ?? '[]') as NodeStatus[];
    return Array.isArray(nodes) ? { identity, heartbeat, nodes } : undefined;
  } catch {
    return undefined;
  }
}
