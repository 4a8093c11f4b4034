// The folder source, live: loads a manifests folder (or one file) with folder.ts's file selection and
// parser, then watches it (fs.watch recursive, plus a stat poll for file systems where fs.watch is silent:
// network mounts, some container overlays) and reloads after a quiet period. A reload re-parses only
// the files whose text changed, so one edit in a folder of thousands of objects stays cheap.
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { displayPath, listManifestFiles, parseManifests, SourceReadError, type LoadResult } from './folder.ts';

export interface FolderWatcherOptions {
  path: string;
  /** Called with a reload's complete result when some file changed; reloads never overlap. */
  onChange: (result: LoadResult) => void;
  /** Called when the folder cannot be read (the previous result stays in force). */
  onError?: (error: Error) => void;
  debounceMs?: number;
  pollMs?: number;
  /** File names in diagnostics are relative to this when inside it (displayPath). */
  cwd?: string;
}

export class FolderWatcher {
  private readonly options: Required<Omit<FolderWatcherOptions, 'onError'>> & Pick<FolderWatcherOptions, 'onError'>;
  private readonly parsed = new Map<string, { text: string; result: LoadResult }>();
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastStats = '';
  private loading: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: FolderWatcherOptions) {
    this.options = { debounceMs: 100, pollMs: 2000, cwd: process.cwd(), ...options };
  }

  /** Loads once (throwing SourceReadError when the folder cannot be read), then watches. */
  async start(): Promise<LoadResult> {
    const first = (await this.load(true))!;
    this.lastStats = await this.statsKey();
    const { path } = this.options;
    const isDir = (await stat(path)).isDirectory();
    try {
      this.watcher = watch(isDir ? path : dirname(path), { recursive: isDir }, () => this.schedule());
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      this.watcher = undefined; // the poll still sees changes
    }
    this.poll = setInterval(() => {
      void this.statsKey().then((key) => {
        if (key !== this.lastStats) this.schedule();
      });
    }, this.options.pollMs);
    this.poll.unref();
    return first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    await this.loading;
  }

  /** Reloads now; resolves when the reload has been delivered. */
  reload(): Promise<void> {
    this.loading = this.loading.then(async () => {
      if (this.stopped) return;
      try {
        this.lastStats = await this.statsKey();
        const result = await this.load();
        if (result) this.options.onChange(result);
      } catch (err) {
        this.options.onError?.(err as Error);
      }
    });
    return this.loading;
  }

  private schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), this.options.debounceMs);
  }

  /** The folder's objects, or undefined when no file was added, removed or changed (unless `always`). */
  private async load(always = false): Promise<LoadResult | undefined> {
    const { path, cwd } = this.options;
    let files: string[];
    try {
      files = listManifestFiles(path);
    } catch (err) {
      throw new SourceReadError(path, err);
    }
    const result: LoadResult = { objects: [], diagnostics: [] };
    const seen = new Set<string>();
    let changed = always || files.length !== this.parsed.size;
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new SourceReadError(file, err);
      }
      seen.add(file);
      let entry = this.parsed.get(file);
      if (entry?.text !== text) {
        changed = true;
        entry = { text, result: parseManifests(text, displayPath(file, cwd)) };
        this.parsed.set(file, entry);
      }
      result.objects.push(...entry.result.objects);
      result.diagnostics.push(...entry.result.diagnostics);
    }
    for (const file of this.parsed.keys()) if (!seen.has(file)) this.parsed.delete(file);
    return changed ? result : undefined;
  }

  /** Names, sizes and modification times of every manifest: what the poll compares. */
  private async statsKey(): Promise<string> {
    try {
      const files = listManifestFiles(this.options.path);
      const stats = await Promise.all(
        files.map(async (f) => {
          const s = await stat(f);
          return `${f}:${s.size}:${s.mtimeMs}`;
        }),
      );
      return stats.join('\n');
    } catch {
      return 'unreadable';
    }
  }
}
