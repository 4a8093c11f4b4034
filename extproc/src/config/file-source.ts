// Snapshots from a file written by `gatehouse compile` (`--snapshot FILE`). The file's folder is
// watched (editors and `kubectl cp`/ConfigMap updates replace the file by rename, which a watch on the
// file itself would miss), with a stat poll as a fallback for file systems where fs.watch is silent
// (network mounts, some containers). Reloads are debounced and skipped when the bytes are unchanged.
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import secureJson from 'secure-json-parse';
import { SnapshotInvalidError } from './decode.ts';
import { loadSnapshotDocument, type LoadedSnapshot, type PolicyCatalog } from './snapshot.ts';
import type { SnapshotSink, SnapshotSource } from './snapshot-store.ts';

export interface FileSourceOptions {
  path: string;
  catalog?: PolicyCatalog;
  pollMs?: number;
  debounceMs?: number;
}

export class FileSnapshotSource implements SnapshotSource {
  private readonly options: Required<Omit<FileSourceOptions, 'catalog'>> & { catalog: PolicyCatalog | undefined };
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** Hash of the bytes last read, applied or rejected: the same bytes are neither applied nor rejected twice. */
  private lastHash = '';
  private lastStat = '';
  private loading: Promise<void> = Promise.resolve();
  private sink: SnapshotSink | undefined;
  /** The last snapshot applied: the next load reuses its unchanged proxies. */
  private applied: LoadedSnapshot | undefined;

  constructor(options: FileSourceOptions) {
    this.options = { pollMs: 2000, debounceMs: 100, catalog: undefined, ...options };
  }

  /** Loads the file once (rejecting start if it is bad), then watches it. */
  async start(sink: SnapshotSink): Promise<void> {
    this.sink = sink;
    const first = (await this.read())!;
    sink.apply(first.snapshot);
    this.applied = first.snapshot;
    this.lastHash = first.hash;
    this.lastStat = await this.statKey();
    const file = basename(this.options.path);
    try {
      this.watcher = watch(dirname(this.options.path), (_event, name) => {
        if (name === null || name === file) this.schedule();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      this.watcher = undefined; // the poll below still sees changes
    }
    this.poll = setInterval(() => {
      void this.statKey().then((key) => {
        if (key !== this.lastStat) this.schedule();
      });
    }, this.options.pollMs);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    await this.loading;
  }

  /** Reloads now (also what the watchers end up calling); resolves when the reload has finished. */
  reload(): Promise<void> {
    this.loading = this.loading.then(() => this.reloadOnce());
    return this.loading;
  }

  private schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), this.options.debounceMs);
  }

  private async reloadOnce(): Promise<void> {
    if (!this.sink) return;
    this.lastStat = await this.statKey();
    try {
      // Two signals for one change (the watch, and a poll whose stat began before the reload) must
      // not reject the same bad bytes twice: they are remembered like good ones.
      const loaded = await this.read(this.lastHash, (hash) => (this.lastHash = hash));
      if (!loaded) return;
      this.applied = loaded.snapshot;
      this.sink.apply(loaded.snapshot);
    } catch (err) {
      this.sink.reject(err as Error);
    }
  }

  /**
   * The file's snapshot, or undefined when its bytes hash to `skipHash` (touched, not changed).
   * `onBytes` is told the hash of bytes that were read, before they are parsed and checked.
   */
  private async read(
    skipHash?: string,
    onBytes?: (hash: string) => void,
  ): Promise<{ hash: string; snapshot: LoadedSnapshot } | undefined> {
    const { path } = this.options;
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new SnapshotInvalidError(`cannot read snapshot ${path}: ${(err as Error).message}`, { cause: err });
    }
    const hash = createHash('sha256').update(bytes).digest('hex');
    if (hash === skipHash) return undefined;
    onBytes?.(hash);
    let document: unknown;
    try {
      document = secureJson.parse(bytes, null, { protoAction: 'error', constructorAction: 'error' });
    } catch (err) {
      throw new SnapshotInvalidError(`snapshot ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    try {
      return { hash, snapshot: loadSnapshotDocument(document, this.options.catalog, this.applied) };
    } catch (err) {
      throw new SnapshotInvalidError(`snapshot ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async statKey(): Promise<string> {
    try {
      const s = await stat(this.options.path);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }
}
