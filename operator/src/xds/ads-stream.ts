// What the state-of-the-world and the delta ADS streams share: the node's identity from the first
// request (registered as connected, and watching the snapshot from then on), one empty answer to a
// type not served here, and the teardown on end, error or cancel. Each protocol keeps its own per-type state.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../lib/log.ts';
import type { NodeRegistry } from './node-registry.ts';
import { isServedType, type TypeUrl } from './protos.ts';
import type { EncodedSnapshot } from './resources.ts';
import type { SnapshotCache } from './snapshot-cache.ts';
import { nodeDataPlane, uriSans } from './node-dataplane.ts';
import { nodeIdentity, type NodeIdentity } from './subscription.ts';

const viewKey = (view: EncodedSnapshot | undefined) => (view ? `${view.version}/${view.secretsVersion ?? ''}` : '');

export interface StreamDeps {
  cache: SnapshotCache;
  registry: NodeRegistry;
  log: Logger;
  /** Refuse a TLS client whose certificate has no data-plane identity (node-dataplane.ts). */
  requireIdentity?: boolean;
}

/** The members both protocols' requests have. */
interface AdsRequest {
  node: { id?: string; cluster?: string } | null;
  typeUrl: string;
}

export abstract class AdsStream<Request extends AdsRequest, Response> {
  protected readonly call: grpc.ServerDuplexStream<Request, Response>;
  protected readonly deps: StreamDeps;
  /** Known from the first request on. */
  protected node: NodeIdentity | undefined;
  /** The DataPlane whose view the node is served (undefined: a node of none, node-dataplane.ts). */
  private dataPlane: string | undefined;
  /** The view version and secrets version last handed to onSnapshot. */
  private seen = '';
  private nonces = 0;
  /** Types this server does not serve that the node asked for: answered once, empty. */
  private readonly unserved = new Set<string>();
  private unwatch: (() => void) | undefined;

  constructor(call: grpc.ServerDuplexStream<Request, Response>, deps: StreamDeps) {
    this.call = call;
    this.deps = deps;
    call.on('data', (req: Request) => this.receive(req));
    call.on('end', () => this.end());
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
  }

  /** Ends the stream with OK (shutdown): the node reconnects, to this replica or another. */
  end(): void {
    this.close();
    if (this.call.writable) this.call.end();
  }

  /** A request for a served type, from a known node. */
  protected abstract onRequest(node: NodeIdentity, type: TypeUrl, req: Request): void;

  /** A new snapshot is being served. */
  protected abstract onSnapshot(snapshot: EncodedSnapshot): void;

  /** What this node is served now: its DataPlane's view. */
  protected current(): EncodedSnapshot | undefined {
    return this.deps.cache.viewFor(this.dataPlane);
  }

  /** Answers a request for an unserved type with no resources, in the protocol's own shape. */
  protected abstract replyEmpty(type: string): void;

  protected nextNonce(): string {
    return String(++this.nonces);
  }

  private receive(req: Request): void {
    if (!this.node) {
      const node = nodeIdentity(req.node);
      if (!node) return this.fail(grpc.status.INVALID_ARGUMENT, 'the first request of a stream must carry node.id');
      const peer = this.call.getAuthContext().sslPeerCertificate;
      const served = nodeDataPlane(
        node.cluster,
        peer ? uriSans(peer.subjectaltname) : undefined,
        peer !== undefined && this.deps.requireIdentity === true,
      );
      if ('refused' in served) {
        this.deps.log.warn({ node: node.id, cluster: node.cluster, reason: served.refused }, 'xDS node refused');
        return this.fail(grpc.status.PERMISSION_DENIED, served.refused);
      }
      this.node = node;
      this.dataPlane = served.dataPlane;
      this.deps.registry.connected(node.id, node.cluster);
      this.seen = viewKey(this.current());
      this.unwatch = this.deps.cache.watch(() => {
        const view = this.current();
        const key = viewKey(view);
        if (!view || key === this.seen) return;
        this.seen = key;
        this.onSnapshot(view);
      });
    }
    const type = req.typeUrl;
    if (isServedType(type)) return this.onRequest(this.node, type, req);
    // An unserved type (e.g. SDS secrets a cluster names) gets one empty answer, whose ACK is then
    // ignored: failing the stream instead would cut the node off from every other type.
    if (this.unserved.has(type)) return;
    this.unserved.add(type);
    this.deps.log.warn(
      { node: this.node.id, type },
      'node asked for a type this server does not serve; answered with no resources',
    );
    this.replyEmpty(type);
  }

  private fail(code: grpc.status, details: string): void {
    this.close();
    this.call.emit('error', { code, details });
  }

  private close(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.node) this.deps.registry.disconnected(this.node.id);
    this.node = undefined;
  }
}
