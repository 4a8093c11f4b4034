// The snapshot every stream serves: one per control plane (all nodes get the same configuration, as
// in Envoy Gateway), replaced whole when the sources change. Streams watch it and push what changed.
import type { EncodedSnapshot } from './resources.ts';

export type SnapshotWatcher = (snapshot: EncodedSnapshot) => void;

export class SnapshotCache {
  private snapshot: EncodedSnapshot | undefined;
  private readonly watchers = new Set<SnapshotWatcher>();

  current(): EncodedSnapshot | undefined {
    return this.snapshot;
  }

  /** Replaces the snapshot and tells every stream; the same version (and secrets) again is a no-op. */
  set(snapshot: EncodedSnapshot): void {
    if (this.snapshot?.version === snapshot.version && this.snapshot.secretsVersion === snapshot.secretsVersion) return;
    this.snapshot = snapshot;
    for (const watcher of this.watchers) watcher(snapshot);
  }

  /** Returns the function that stops watching. */
  watch(watcher: SnapshotWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }
}
