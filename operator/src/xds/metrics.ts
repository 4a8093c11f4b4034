// Prometheus metrics of the xDS server (gatehouse_xds_*), in a registry of its own so that tests can
// run several servers in one process.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  snapshotServed(version: string): void {
    this.snapshotInfo.reset();
    this.snapshotInfo.set({ version }, 1);
  }
}
