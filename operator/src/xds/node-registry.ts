// What every data-plane node runs: per node id, per resource type, the version it ACKed and its last
// NACK with the node's error message. The status writer (DataPlane configVersion / syncedVersion,
// ApiProxy dataPlanes[]) and /debug/nodes read it. A node's record lives while it has a stream open.
import type { XdsMetrics } from './metrics.ts';
import { typeNames, type TypeUrl } from './protos.ts';

export interface NackRecord {
  /** The version the node rejected. */
  version: string;
  message: string;
  at: string;
}

export interface TypeStatus {
  /** Last version sent, and whether the node has answered it yet. */
  sentVersion?: string;
  pending: boolean;
  /** Last version the node ACKed (applied). */
  ackedVersion?: string;
  ackedAt?: string;
  lastNack?: NackRecord;
}

export interface NodeStatus {
  id: string;
  cluster: string;
  connectedSince: string;
  streams: number;
  /** The newest snapshot version whose every subscribed resource the node has ACKed. */
  syncedVersion?: string;
  syncedAt?: string;
  /** Keyed by short type name: CDS, EDS, LDS, RDS, SDS, runtime. Versions are the compiled snapshot's. */
  types: Record<string, TypeStatus>;
}

export type NodeEvent = {
  kind: 'connected' | 'disconnected' | 'acked' | 'nacked' | 'synced';
  node: NodeStatus;
  type?: string;
};

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeStatus>();
  private readonly listeners = new Set<(event: NodeEvent) => void>();
  private readonly metrics: XdsMetrics | undefined;
  private readonly now: () => Date;

  constructor(options: { metrics?: XdsMetrics; now?: () => Date } = {}) {
    this.metrics = options.metrics;
    this.now = options.now ?? (() => new Date());
  }

  list(): NodeStatus[] {
    return [...this.nodes.values()].sort((a, b) => a.id.localeCompare(b.id)).map(clone);
  }

  get(id: string): NodeStatus | undefined {
    const node = this.nodes.get(id);
    return node && clone(node);
  }

  /** Returns the function that stops listening. */
  onEvent(listener: (event: NodeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connected(id: string, cluster: string): void {
    const node = this.nodes.get(id);
    if (node) {
      node.streams++;
      return;
    }
    const fresh: NodeStatus = { id, cluster, connectedSince: this.now().toISOString(), streams: 1, types: {} };
    this.nodes.set(id, fresh);
    this.metrics?.connectedNodes.set(this.nodes.size);
    this.emit('connected', fresh);
  }

  disconnected(id: string): void {
    const node = this.nodes.get(id);
    if (!node || --node.streams > 0) return;
    this.nodes.delete(id);
    this.metrics?.connectedNodes.set(this.nodes.size);
    this.emit('disconnected', node);
  }

  sent(id: string, type: TypeUrl, version: string): void {
    const status = this.typeStatus(id, type);
    if (!status) return;
    status.sentVersion = version;
    status.pending = true;
    this.metrics?.pushes.inc({ type: typeNames[type] });
  }

  acked(id: string, type: TypeUrl, version: string): void {
    const status = this.typeStatus(id, type);
    if (!status) return;
    Object.assign(status, { pending: false, ackedVersion: version, ackedAt: this.now().toISOString() });
    this.metrics?.acks.inc({ type: typeNames[type] });
    this.metrics?.propagated(typeNames[type], version);
    this.emit('acked', this.nodes.get(id)!, typeNames[type]);
  }

  nacked(id: string, type: TypeUrl, version: string, message: string): void {
    const status = this.typeStatus(id, type);
    if (!status) return;
    status.pending = false;
    status.lastNack = { version, message, at: this.now().toISOString() };
    this.metrics?.nacks.inc({ type: typeNames[type] });
    this.emit('nacked', this.nodes.get(id)!, typeNames[type]);
  }

  synced(id: string, version: string): void {
    const node = this.nodes.get(id);
    if (!node || node.syncedVersion === version) return;
    node.syncedVersion = version;
    node.syncedAt = this.now().toISOString();
    this.emit('synced', node);
  }

  private typeStatus(id: string, type: TypeUrl): TypeStatus | undefined {
    const node = this.nodes.get(id);
    if (!node) return undefined;
    node.types[typeNames[type]] ??= { pending: false };
    return node.types[typeNames[type]];
  }

  private emit(kind: NodeEvent['kind'], node: NodeStatus, type?: string): void {
    if (this.listeners.size === 0) return;
    const event: NodeEvent = { kind, node: clone(node), ...(type ? { type } : {}) };
    for (const listener of this.listeners) listener(event);
  }
}

const clone = (node: NodeStatus): NodeStatus => structuredClone(node);
