// Prometheus metrics of the xDS server (gatehouse_xds_*), in a registry of its own so that tests can
// run several servers in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Published versions remembered for the propagation histogram (older ones are not timed). */
const publishedVersionsKept = 16;

export class XdsMetrics {
  readonly registry = new Registry();
  readonly connectedNodes = new Gauge({
    name: 'gatehouse_xds_connected_nodes',
    help: 'nodes with at least one open ADS stream',
    registers: [this.registry],
  });
  readonly streams = new Gauge({
    name: 'gatehouse_xds_streams',
    help: 'open ADS streams by protocol variant',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  readonly pushes = new Counter({
    name: 'gatehouse_xds_pushes_total',
    help: 'discovery responses sent, by resource type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly acks = new Counter({
    name: 'gatehouse_xds_acks_total',
    help: 'responses ACKed, by resource type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly nacks = new Counter({
    name: 'gatehouse_xds_nacks_total',
    help: 'responses NACKed (rejected by the node), by resource type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly snapshotInfo = new Gauge({
    name: 'gatehouse_xds_snapshot_info',
    help: 'the snapshot version being served (value 1)',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });

  readonly compileSeconds = new Histogram({
    name: 'gatehouse_operator_compile_duration_seconds',
    help: 'time to compile the objects into a snapshot, by result (ok, failed: the previous snapshot still serves)',
    labelNames: ['result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly rejectedObjects = new Gauge({
    name: 'gatehouse_operator_rejected_objects',
    help: 'objects the last compile left out (Accepted or ResolvedRefs False), by kind and reason',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });
  readonly propagationSeconds = new Histogram({
    name: 'gatehouse_xds_propagation_seconds',
    help: 'time from a snapshot version published to a node ACKing it, by resource type (this replica)',
    labelNames: ['type'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  /** version -> performance.now() when it was published. */
  private readonly publishedAt = new Map<string, number>();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** A compile ended: its duration and, when it produced a snapshot, the objects it left out. */
  compiled(
    seconds: number,
    rejected?: ReadonlyArray<{ kind?: string; reason?: string; namespace?: string; name?: string }>,
  ): void {
    this.compileSeconds.observe({ result: rejected ? 'ok' : 'failed' }, seconds);
    if (!rejected) return;
    const objects = new Map<string, { kind: string; reason: string }>();
    for (const d of rejected) {
      if (d.kind === undefined) continue;
      const key = `${d.kind}/${d.namespace ?? ''}/${d.name ?? ''}`;
      if (!objects.has(key)) objects.set(key, { kind: d.kind, reason: d.reason ?? 'Invalid' });
    }
    this.rejectedObjects.reset();
    for (const { kind, reason } of objects.values()) this.rejectedObjects.inc({ kind, reason });
  }

  /** A new version is served: its ACKs are timed from now. */
  published(version: string): void {
    this.publishedAt.set(version, performance.now());
    for (const old of this.publishedAt.keys()) {
      if (this.publishedAt.size <= publishedVersionsKept) break;
      this.publishedAt.delete(old);
    }
  }

  /** A node ACKed a version of a type: the time since that version was published. */
  propagated(type: string, version: string): void {
    const at = this.publishedAt.get(version);
    if (at !== undefined) this.propagationSeconds.observe({ type }, (performance.now() - at) / 1000);
  }

  snapshotServed(version: string): void {
    this.snapshotInfo.reset();
    this.snapshotInfo.set({ version }, 1);
  }
}
