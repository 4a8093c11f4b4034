// One incremental ADS stream (DeltaAggregatedResources). Per resource type the stream tracks the
// subscription and the version of every resource the node holds; a response carries only the
// resources whose version differs and the names the node must drop. Every response is answered on
// its own nonce: an ACK, or a NACK (error_detail), after which the node's holdings are rolled back to
// what they were (the node keeps its previous resources) and the rejected versions are not offered
// again until they change.
import { AdsStream } from './ads-stream.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, TypeUrl } from './protos.ts';
import { namedOnlyTypes, pushOrder, typeNames, wildcardTypes } from './protos.ts';
import type { EncodedSnapshot } from './resources.ts';
import { coversDependencies, resourcesInScope, type NodeIdentity, type Subscription } from './subscription.ts';

interface PendingResponse {
  version: string;
  /** What the node held of each name before this response (undefined: nothing). */
  before: Map<string, string | undefined>;
  /** The versions this response sent, by name. */
  sent: Map<string, string>;
}

interface TypeState {
  sub: Subscription;
  /** name -> version the node holds. */
  held: Map<string, string>;
  pending: Map<string, PendingResponse>;
  /** Versions the node NACKed, by name: not sent again until they change. */
  rejected: Map<string, string>;
}

export class DeltaStream extends AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  private readonly types = new Map<TypeUrl, TypeState>();

  protected onRequest(node: NodeIdentity, type: TypeUrl, req: DeltaDiscoveryRequest): void {
    let state = this.types.get(type);
    const first = !state;
    if (!state) {
      const implicitWildcard = req.resourceNamesSubscribe.length === 0 && wildcardTypes.has(type);
      state = {
        sub: { wildcard: implicitWildcard, names: new Set() },
        held: new Map(Object.entries(req.initialResourceVersions)),
        pending: new Map(),
        rejected: new Map(),
      };
      this.types.set(type, state);
    }
    if (req.responseNonce !== '') this.answered(node, type, state, req);
    const newly: string[] = [];
    for (const name of req.resourceNamesSubscribe) {
      if (name === '*') state.sub.wildcard = !namedOnlyTypes.has(type);
      else if (!state.sub.names.has(name)) {
        state.sub.names.add(name);
        newly.push(name);
      }
    }
    for (const name of req.resourceNamesUnsubscribe) {
      if (name === '*') state.sub.wildcard = false;
      state.sub.names.delete(name);
      state.held.delete(name); // the node dropped it: nothing to remove later
    }
    if (first || req.resourceNamesSubscribe.length > 0 || req.resourceNamesUnsubscribe.length > 0)
      this.push(type, state, newly);
    this.checkSynced();
  }

  private answered(node: NodeIdentity, type: TypeUrl, state: TypeState, req: DeltaDiscoveryRequest): void {
    const pending = state.pending.get(req.responseNonce);
    if (!pending) return; // not a nonce of ours, or answered already
    state.pending.delete(req.responseNonce);
    if (req.errorDetail) {
      for (const [name, version] of pending.before) {
        if (version === undefined) state.held.delete(name);
        else state.held.set(name, version);
      }
      for (const [name, version] of pending.sent) state.rejected.set(name, version);
      const message = req.errorDetail.message || `code ${req.errorDetail.code}`;
      this.deps.registry.nacked(node.id, type, pending.version, message);
      this.deps.log.warn(
        { node: node.id, type: typeNames[type], version: pending.version, error: message },
        'node rejected configuration (NACK)',
      );
      return;
    }
    this.deps.registry.acked(node.id, type, pending.version);
  }

  protected onSnapshot(snapshot: EncodedSnapshot): void {
    for (const type of pushOrder) {
      const state = this.types.get(type);
      if (state) this.push(type, state, [], snapshot);
    }
    this.checkSynced(snapshot);
  }

  /** Sends what differs from the node's holdings; `newly` subscribed names that do not exist are reported removed. */
  private push(type: TypeUrl, state: TypeState, newly: readonly string[], snapshot = this.current()): void {
    if (!snapshot || !this.node) return;
    const inScope = resourcesInScope(snapshot, type, state.sub);
    const scopeNames = new Set(inScope.map((r) => r.name));
    const changed = inScope.filter(
      (r) => state.held.get(r.name) !== r.version && state.rejected.get(r.name) !== r.version,
    );
    const removed = [...state.held.keys()].filter((n) => !scopeNames.has(n));
    for (const name of newly) if (!scopeNames.has(name) && !state.held.has(name)) removed.push(name);
    if (changed.length === 0 && removed.length === 0) return;
    const before = new Map<string, string | undefined>();
    const sent = new Map(changed.map((r) => [r.name, r.version]));
    for (const r of changed) {
      before.set(r.name, state.held.get(r.name));
      state.held.set(r.name, r.version);
    }
    for (const name of removed) {
      before.set(name, state.held.get(name));
      state.held.delete(name);
    }
    const nonce = this.nextNonce();
    state.pending.set(nonce, { version: snapshot.version, before, sent });
    this.deps.registry.sent(this.node.id, type, snapshot.version);
    this.call.write({
      systemVersionInfo: snapshot.version,
      typeUrl: type,
      nonce,
      removedResources: removed,
      resources: changed.map((r) => ({ name: r.name, version: r.version, resource: r.any })),
    });
  }

  protected replyEmpty(type: string): void {
    this.call.write({
      systemVersionInfo: this.current()?.version ?? '',
      typeUrl: type,
      nonce: this.nextNonce(),
      removedResources: [],
      resources: [],
    });
  }

  /** Synced: nothing unanswered and the node holds exactly the current resources of its subscriptions. */
  private checkSynced(snapshot = this.current()): void {
    if (!snapshot || !this.node || this.types.size === 0 || !coversDependencies(snapshot, new Set(this.types.keys())))
      return;
    for (const [type, state] of this.types) {
      if (state.pending.size > 0) return;
      const inScope = resourcesInScope(snapshot, type, state.sub);
      if (inScope.some((r) => state.held.get(r.name) !== r.version) || state.held.size !== inScope.length) return;
    }
    this.deps.registry.synced(this.node.id, snapshot.version);
  }
}
