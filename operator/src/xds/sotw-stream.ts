// One state-of-the-world ADS stream (StreamAggregatedResources). Per resource type the stream keeps
// what the node subscribed to and what was last sent and ACKed. A response carries the whole
// subscribed set at the snapshot version with a fresh nonce; a request answering it with that nonce
// is an ACK, or a NACK when error_detail is set; a request with an older nonce is stale and ignored.
// A set whose content has not changed since it was last sent is not sent again (so a node that
// ACKed it, or NACKed it, is left alone) unless the node changes its subscription.
import { AdsStream } from './ads-stream.ts';
import { pushOrder, typeNames, type DiscoveryRequest, type DiscoveryResponse, type TypeUrl } from './protos.ts';
import type { EncodedSnapshot } from './resources.ts';
import {
  contentKey,
  coversDependencies,
  resourcesInScope,
  sameNames,
  subscriptionOf,
  typeVersion,
  type NodeIdentity,
  type Subscription,
} from './subscription.ts';

interface TypeState {
  sub: Subscription;
  /** Nonce of the last response; only a request carrying it answers the current state. */
  nonce?: string;
  sentKey?: string;
  sentVersion?: string;
  ackedKey?: string;
}

export class SotwStream extends AdsStream<DiscoveryRequest, DiscoveryResponse> {
  private readonly types = new Map<TypeUrl, TypeState>();

  protected onRequest(node: NodeIdentity, type: TypeUrl, req: DiscoveryRequest): void {
    let state = this.types.get(type);
    if (req.responseNonce !== '') {
      if (!state || state.nonce !== req.responseNonce) return; // stale: a newer response is on its way
      this.answered(node, type, state, req);
    }
    const sub = subscriptionOf(type, req.resourceNames);
    if (!state) {
      state = { sub };
      this.types.set(type, state);
      const snapshot = this.current();
      // A reconnecting node that already runs the current version is not sent it again.
      if (snapshot && req.versionInfo === typeVersion(snapshot, type)) {
        state.sentKey = state.ackedKey = contentKey(resourcesInScope(snapshot, type, sub));
        state.sentVersion = snapshot.version;
        this.deps.registry.acked(node.id, type, snapshot.version);
        this.checkSynced(snapshot);
        return;
      }
      this.push(type, state, true);
    } else if (sub.wildcard !== state.sub.wildcard || !sameNames(sub.names, state.sub.names)) {
      state.sub = sub;
      this.push(type, state, true);
    }
  }

  private answered(node: NodeIdentity, type: TypeUrl, state: TypeState, req: DiscoveryRequest): void {
    state.nonce = undefined;
    if (req.errorDetail) {
      const message = req.errorDetail.message || `code ${req.errorDetail.code}`;
      this.deps.registry.nacked(node.id, type, state.sentVersion ?? '', message);
      this.deps.log.warn(
        { node: node.id, type: typeNames[type], version: state.sentVersion, error: message },
        'node rejected configuration (NACK)',
      );
      return;
    }
    state.ackedKey = state.sentKey;
    // The compiled version sent (SDS responses carry a secrets version of their own on the wire).
    this.deps.registry.acked(node.id, type, state.sentVersion ?? req.versionInfo);
    const snapshot = this.current();
    if (snapshot) this.checkSynced(snapshot);
  }

  protected onSnapshot(snapshot: EncodedSnapshot): void {
    for (const type of pushOrder) {
      const state = this.types.get(type);
      if (state) this.push(type, state, false, snapshot);
    }
    this.checkSynced(snapshot);
  }

  protected replyEmpty(type: string): void {
    this.call.write({
      versionInfo: this.current()?.version ?? '',
      typeUrl: type,
      nonce: this.nextNonce(),
      resources: [],
    });
  }

  private push(type: TypeUrl, state: TypeState, force: boolean, snapshot = this.current()): void {
    if (!snapshot || !this.node) return;
    const resources = resourcesInScope(snapshot, type, state.sub);
    const key = contentKey(resources);
    if (!force && key === state.sentKey) return;
    const nonce = this.nextNonce();
    Object.assign(state, { nonce, sentKey: key, sentVersion: snapshot.version });
    this.deps.registry.sent(this.node.id, type, snapshot.version);
    this.call.write({
      versionInfo: typeVersion(snapshot, type),
      typeUrl: type,
      nonce,
      resources: resources.map((r) => r.any),
    });
  }

  /** Synced: every subscribed type's current content is what the node last ACKed. */
  private checkSynced(snapshot: EncodedSnapshot): void {
    if (!this.node || this.types.size === 0 || !coversDependencies(snapshot, new Set(this.types.keys()))) return;
    for (const [type, state] of this.types) {
      if (state.nonce !== undefined || state.ackedKey !== contentKey(resourcesInScope(snapshot, type, state.sub)))
        return;
    }
    this.deps.registry.synced(this.node.id, snapshot.version);
  }
}
