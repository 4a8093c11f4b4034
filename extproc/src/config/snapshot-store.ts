// The snapshot being served, swapped atomically. A stream takes `current()` once when it starts and
// keeps that object to its end, so a reload never changes the rules under an in-flight request.
import type { LoadedSnapshot } from './snapshot.ts';

export interface SnapshotProvider {
  current(): LoadedSnapshot | undefined;
}

/** Where snapshots come from: a file now, the xDS subscription later (distribution issue). */
export interface SnapshotSource {
  /** Starts delivering; `apply` is called with every good snapshot, `reject` with every bad one. */
  start(sink: SnapshotSink): Promise<void>;
  stop(): Promise<void>;
}

export interface SnapshotSink {
  apply(snapshot: LoadedSnapshot): void;
  reject(error: Error): void;
}

export type SnapshotListener = (
  event: { kind: 'applied'; snapshot: LoadedSnapshot } | { kind: 'rejected'; error: Error },
) => void;

export class SnapshotStore implements SnapshotProvider, SnapshotSink {
  private snapshot: LoadedSnapshot | undefined;
  private readonly listeners: SnapshotListener[] = [];

  current(): LoadedSnapshot | undefined {
    return this.snapshot;
  }

  apply(snapshot: LoadedSnapshot): void {
    this.snapshot = snapshot;
    for (const l of this.listeners) l({ kind: 'applied', snapshot });
  }

  reject(error: Error): void {
    for (const l of this.listeners) l({ kind: 'rejected', error });
  }

  onChange(listener: SnapshotListener): void {
    this.listeners.push(listener);
  }
}
