// What the streams serve: one encoded snapshot per DataPlane (docs/architecture.md#the-operator), all
// replaced together when the sources change. A node is served the view of the DataPlane its
// node.cluster names; a node whose cluster is not a DataPlane's (`gatehouse dev`, folder mode with
// hand-started processes) is served the only view when there is exactly one, else nothing. Streams
// watch the cache and push what changed in their view.
import type { EncodedSnapshot } from './resources.ts';

export interface ServedSnapshots {
  /** The compiled snapshot's version (every DataPlane's part): /readyz, /debug/nodes. */
  version: string;
  /** By DataPlane "namespace/name". */
  views: ReadonlyMap<string, EncodedSnapshot>;
}

export type SnapshotWatcher = () => void;

export class SnapshotCache {
  private served: ServedSnapshots | undefined;
  private readonly watchers = new Set<SnapshotWatcher>();

  current(): ServedSnapshots | undefined {
    return this.served;
  }

  /** The view for a node of DataPlane `dataPlane` ("namespace/name"), or of no DataPlane (undefined). */
  viewFor(dataPlane: string | undefined): EncodedSnapshot | undefined {
    const views = this.served?.views;
    if (!views) return undefined;
    if (dataPlane !== undefined) return views.get(dataPlane);
    return views.size === 1 ? views.values().next().value : undefined;
  }

  /** Replaces what is served and tells every stream; nothing changed in any view is a no-op. */
  set(served: ServedSnapshots): void {
    const before = this.served;
    const same =
      before !== undefined &&
      before.version === served.version &&
      before.views.size === served.views.size &&
      [...served.views].every(([name, view]) => {
        const old = before.views.get(name);
        return old?.version === view.version && old.secretsVersion === view.secretsVersion;
      });
    if (same) return;
    this.served = served;
    for (const watcher of this.watchers) watcher();
  }

  /** Returns the function that stops watching. */
  watch(watcher: SnapshotWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }
}
