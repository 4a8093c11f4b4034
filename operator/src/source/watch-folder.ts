// The folder source, live, as the snapshot pipeline reads it: loads a manifests folder (or one file)
// with folder.ts, then watches it (fs.watch recursive, plus a stat poll for what fs.watch misses:
// network mounts, some container overlays, a folder deleted and created again) and reads it again
// after a quiet period. A reading re-parses only the files whose bytes changed; what a file that
// fails to read or parse held keeps serving (folder.ts's ManifestCache), and a folder that cannot be
// read at all keeps everything as it was and says so, until it can be read again.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Diagnostic } from '../compile/diagnostics.ts';
import type { SourceObject } from '../compile/intake.ts';
import type { IrEndpoint } from '../compile/ir.ts';
import type { SnapshotSource } from '../pipeline/source.ts';
import { secretLookupFromObjects, type SecretLookup } from '../xds/sds.ts';
import { credentialHashKeyFrom } from './credential-key.ts';
import {
  displayPath,
  listManifests,
  ManifestCache,
  reasonOf,
  type FileRead,
  type LoadResult,
  type ManifestListing,
} from './folder.ts';

export interface FolderSourceOptions {
  path: string;
  /** Quiet time after a file event before the folder is read (default 100 ms). */
  debounceMs?: number;
  /** How often the stat poll looks for changes fs.watch missed (default 2 s). */
  pollMs?: number;
  /** false: rely on the poll alone (a file system whose events cannot be trusted). Default true. */
  watch?: boolean;
  /** File names in diagnostics are relative to this when inside it (displayPath). */
  cwd?: string;
  /** Endpoints of the Services targets name, given by the caller: a folder has no EndpointSlices. */
  serviceEndpoints?: Readonly<Record<string, IrEndpoint[]>>;
}

export const defaultDebounceMs = 100;
export const defaultPollMs = 2_000;
/** The longest a stream of file events can delay a reading. */
const maxDelayMs = 1_000;

export class FolderSource implements SnapshotSource {
  readonly path: string;
  readonly debounceMs: number;
  readonly pollMs: number;
  readonly watches: boolean;
  /** Polls, readings and stat calls since start: what an idle source costs. */
  readonly counters = { polls: 0, reads: 0, stats: 0 };
  readonly secretLookup: SecretLookup = (namespace, name) => this.secrets(namespace, name);
  private readonly cwd: string;
  private readonly endpoints: Readonly<Record<string, IrEndpoint[]>> | undefined;
  private readonly cache: ManifestCache;
  private readonly handlers = new Set<() => void>();
  private state: LoadResult = { objects: [], diagnostics: [] };
  private secrets: SecretLookup = () => undefined;
  private credentialKey: string | undefined;
  /** Why the folder itself cannot be read right now. */
  private unreadable: Diagnostic | undefined;
  private watcher: FSWatcher | undefined;
  /** dev:ino of the folder fs.watch watches; a folder created again needs a new watch. */
  private watched = '';
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private firstPending: number | undefined;
  private polling = false;
  /** The stats the last reading started from (the poll compares against them). */
  private lastStamp = '';
  /** The last reading had files it could not read: read again at the next poll even if no stat changed. */
  private retry = false;
  private loading: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;

  constructor(options: FolderSourceOptions) {
    // `?? default`, never a spread: an option passed as undefined must not override a default.
    this.path = options.path;
    this.debounceMs = options.debounceMs ?? defaultDebounceMs;
    this.pollMs = options.pollMs ?? defaultPollMs;
    this.watches = options.watch ?? true;
    this.cwd = options.cwd ?? process.cwd();
    this.endpoints = options.serviceEndpoints;
    this.cache = new ManifestCache(this.cwd);
  }

  /** Reads the folder once (throwing SourceReadError when it cannot be read), then watches it. */
  async start(): Promise<void> {
    await this.read();
    this.started = true;
    this.poll = setInterval(() => void this.pollOnce(), this.pollMs);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    await this.loading;
  }

  objects(): readonly SourceObject[] {
    return this.state.objects;
  }

  diagnostics(): readonly Diagnostic[] {
    return this.unreadable ? [...this.state.diagnostics, this.unreadable] : this.state.diagnostics;
  }

  onChange(handler: () => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  credentialHashKey(): string | undefined {
    return this.credentialKey;
  }

  serviceEndpoints(): Readonly<Record<string, IrEndpoint[]>> | undefined {
    return this.endpoints;
  }

  /** Reads the folder now; resolves when the reading has been delivered (readings never overlap). */
  reload(): Promise<void> {
    this.loading = this.loading.then(async () => {
      if (this.stopped) return;
      try {
        await this.read();
      } catch (err) {
        // read() handles every failure it knows of; this is a bug, reported like an unreadable folder.
        this.setUnreadable(`cannot read the manifests (${reasonOf(err)})`);
      }
    });
    return this.loading;
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = performance.now();
    this.firstPending ??= now;
    clearTimeout(this.debounce);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPending + maxDelayMs - now));
    this.debounce = setTimeout(() => {
      this.firstPending = undefined;
      void this.reload();
    }, wait);
  }

  private async pollOnce(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    this.counters.polls++;
    try {
      if (this.retry || (await this.stamp()) !== this.lastStamp) this.schedule();
    } finally {
      this.polling = false;
    }
  }

  private async read(): Promise<void> {
    this.counters.reads++;
    // Stats first: a change made while the files are read differs from them, so the poll catches it.
    const stamp = await this.stamp();
    let listing: ManifestListing;
    try {
      listing = listManifests(this.path);
    } catch (err) {
      if (!this.started) throw err; // at start, a folder that cannot be read is a usage error
      this.lastStamp = stamp;
      // Its watch died with it; a new one is set up when it is back (maybe with the same inode number).
      this.watcher?.close();
      this.watcher = undefined;
      this.watched = '';
      this.setUnreadable(
        `cannot read the manifests folder (${reasonOf((err as Error).cause ?? err)}); everything read from it keeps serving`,
      );
      return;
    }
    const reads = new Map<string, FileRead>();
    let failed = false;
    for (const file of listing.files) {
      try {
        reads.set(file, { bytes: await readFile(file) });
      } catch (error) {
        reads.set(file, { error });
        failed = true;
      }
    }
    const result = this.cache.update(listing, reads);
    this.lastStamp = stamp;
    this.retry = failed;
    const recovered = this.unreadable !== undefined;
    this.unreadable = undefined;
    this.watch();
    if (result.changed || recovered || !this.started) {
      this.state = { objects: result.objects, diagnostics: result.diagnostics };
      this.credentialKey = credentialHashKeyFrom(result.objects);
      this.secrets = secretLookupFromObjects(result.objects);
      this.emit();
    }
  }

  private setUnreadable(message: string): void {
    const changed = this.unreadable?.message !== message;
    this.unreadable = {
      severity: 'error',
      code: 'GH_ERR_SOURCE_READ',
      file: displayPath(this.path, this.cwd),
      message,
    };
    if (changed) this.emit();
  }

  private emit(): void {
    for (const handler of this.handlers) handler();
  }

  /** Watches the folder (or a single file's folder) unless the current watch still covers it. */
  private watch(): void {
    if (this.stopped || !this.watches) return;
    let id: string;
    let isDir: boolean;
    try {
      const s = statSync(this.path);
      isDir = s.isDirectory();
      const d = isDir ? s : statSync(dirname(this.path));
      id = `${d.dev}:${d.ino}`;
    } catch {
      return; // gone again; the poll notices when it is back
    }
    if (this.watcher && this.watched === id) return;
    this.watcher?.close();
    this.watcher = undefined;
    this.watched = '';
    try {
      const watcher = watch(isDir ? this.path : dirname(this.path), { recursive: isDir }, () => this.schedule());
      watcher.on('error', () => {
        watcher.close();
        if (this.watcher === watcher) {
          this.watcher = undefined;
          this.watched = '';
        }
        this.schedule();
      });
      this.watcher = watcher;
      this.watched = id;
    } catch {
      // No fs.watch here (or out of inotify watches): the poll still sees every change.
    }
  }

  /** What the poll compares: the folder's identity, and the names, sizes, times and inodes of its manifests. */
  private async stamp(): Promise<string> {
    let listing: ManifestListing;
    let root: string;
    try {
      const s = statSync(this.path);
      root = `${s.dev}:${s.ino}`;
      listing = listManifests(this.path);
    } catch (err) {
      return `unreadable: ${reasonOf((err as Error).cause ?? err)}`;
    }
    this.counters.stats += listing.files.length;
    const files = await Promise.all(
      listing.files.map(async (f) => {
        try {
          const s = await stat(f);
          return `${f}:${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`;
        } catch (err) {
          return `${f}: ${reasonOf(err)}`;
        }
      }),
    );
    return [root, ...files, ...listing.problems.map((p) => `${p.path}: ${p.message}`)].join('\n');
  }
}
