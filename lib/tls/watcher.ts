// TLS material from files that change under a running process: a Secret mounted by kubelet, which
// swaps the whole volume at once by renaming the `..data` symlink in the mount directory. The
// directories are watched (and polled, for file systems where events go missing); a burst of events
// settles (debounce) before the files are read and checked. Good material replaces the old and is
// announced to listeners (servers swap their secure context, clients use it for new connections);
// bad material is logged with the file and the reason and the old material stays in use. A half-done
// update by hand (certificate written, key not yet) is given one more look before it is reported.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log.ts';
import { TlsFileError } from './errors.ts';
import { sameMaterial, validateMaterial, type CertSummary, type TlsMaterial } from './material.ts';

export interface TlsFiles {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

/** Current TLS material, and word when it changes: files (TlsFileWatcher) or SDS secrets (devproxy). */
export interface MaterialSource {
  current(): TlsMaterial | undefined;
  /** Returns the function that stops listening. */
  onChange(listener: (material: TlsMaterial) => void): () => void;
}

export interface TlsFileWatcherOptions {
  files: TlsFiles;
  log: Logger;
  /** What the material is for, in logs: "xDS server", "ext_proc client". */
  purpose: string;
  /** Quiet time after the last file event before reading (default 100 ms). */
  debounceMs?: number;
  /** Read the files this often whatever the events say (default 30 s; 0: never). */
  pollMs?: number;
  /** Wait before reporting material that failed its checks, in case an update is still being written (default 500 ms). */
  settleMs?: number;
}

function readFile(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFileError(file, err);
  }
}

/** Loads and checks the files once. Throws TlsFileError, TlsMaterialError or TlsKeyMismatchError. */
export function loadTlsFiles(files: TlsFiles): TlsMaterial {
  return validateMaterial(
    { cert: readFile(files.certFile), key: readFile(files.keyFile), ca: readFile(files.caFile) },
    { cert: files.certFile, key: files.keyFile, ca: files.caFile },
  );
}

/** What a log line says about material: names, serials and validity, never bytes. */
export function describeMaterial(m: TlsMaterial): Record<string, unknown> {
  const leaf = (c: CertSummary) => ({
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serialNumber,
    notAfter: c.notAfter,
  });
  return {
    ...(m.leaf ? { certificate: leaf(m.leaf) } : {}),
    ...(m.authorities.length > 0
      ? { authorities: m.authorities.map((a) => `${a.subject} (serial ${a.serialNumber})`) }
      : {}),
  };
}

export class TlsFileWatcher implements MaterialSource {
  private readonly options: TlsFileWatcherOptions;
  private material: TlsMaterial | undefined;
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private secondLook = false;
  private closed = false;

  constructor(options: TlsFileWatcherOptions) {
    this.options = options;
  }

  /**
   * Loads the files (throwing when they are unusable: a process does not start without its
   * certificate) and starts watching them.
   */
  start(): TlsMaterial {
    const material = loadTlsFiles(this.options.files);
    this.material = material;
    this.options.log.info({ purpose: this.options.purpose, ...describeMaterial(material) }, 'TLS material loaded');
    this.warnIfOutOfDate(material);
    const { certFile, keyFile, caFile } = this.options.files;
    for (const dir of new Set([certFile, keyFile, caFile].filter((f) => f !== undefined).map((f) => dirname(f)))) {
      try {
        const w = watch(dir, { persistent: false }, () => this.changed());
        w.on('error', (err) =>
          this.options.log.warn(
            { purpose: this.options.purpose, dir, err: err.message },
            'cannot watch TLS directory; polling only',
          ),
        );
        this.watchers.push(w);
      } catch (err) {
        this.options.log.warn(
          { purpose: this.options.purpose, dir, err: (err as Error).message },
          'cannot watch TLS directory; polling only',
        );
      }
    }
    const pollMs = this.options.pollMs ?? 30_000;
    if (pollMs > 0) {
      this.poll = setInterval(() => this.reload(), pollMs);
      this.poll.unref();
    }
    return material;
  }

  current(): TlsMaterial | undefined {
    return this.material;
  }

  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the files now (the watcher does this on every change); returns whether new material was applied. */
  reload(): boolean {
    if (this.closed) return false;
    let next: TlsMaterial;
    try {
      next = loadTlsFiles(this.options.files);
    } catch (err) {
      this.failed(err as Error & { code?: string; file?: string; source?: string });
      return false;
    }
    clearTimeout(this.settle);
    this.settle = undefined;
    if (this.lastError !== undefined)
      this.options.log.info({ purpose: this.options.purpose }, 'TLS files are usable again');
    this.lastError = undefined;
    if (sameMaterial(this.material, next)) return false;
    this.material = next;
    this.options.log.info({ purpose: this.options.purpose, ...describeMaterial(next) }, 'TLS material reloaded');
    this.warnIfOutOfDate(next);
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (err) {
        this.options.log.error(
          { purpose: this.options.purpose, err: (err as Error).message },
          'applying reloaded TLS material failed',
        );
      }
    }
    return true;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    clearTimeout(this.debounce);
    clearTimeout(this.settle);
    clearInterval(this.poll);
    this.listeners.clear();
  }

  private changed(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.reload(), this.options.debounceMs ?? 100);
    this.debounce.unref();
  }

  /** Reported once per distinct problem, after a second look (an update may still be under way). */
  private failed(err: Error & { code?: string; file?: string; source?: string }): void {
    if (this.secondLook) {
      this.report(err);
      return;
    }
    if (this.settle !== undefined) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      this.secondLook = true;
      try {
        this.reload();
      } finally {
        this.secondLook = false;
      }
    }, this.options.settleMs ?? 500);
    this.settle.unref();
  }

  private report(err: Error & { code?: string; file?: string; source?: string }): void {
    if (err.message === this.lastError) return;
    this.lastError = err.message;
    this.options.log.error(
      { purpose: this.options.purpose, file: err.file ?? err.source, code: err.code, reason: err.message },
      'TLS files not usable; keeping the previous certificate',
    );
  }

  private warnIfOutOfDate(m: TlsMaterial): void {
    const now = Date.now();
    for (const c of [...(m.leaf ? [m.leaf] : []), ...m.authorities]) {
      if (Date.parse(c.notAfter) < now)
        this.options.log.warn(
          { purpose: this.options.purpose, subject: c.subject, notAfter: c.notAfter },
          'certificate has expired',
        );
      else if (Date.parse(c.notBefore) > now)
        this.options.log.warn(
          { purpose: this.options.purpose, subject: c.subject, notBefore: c.notBefore },
          'certificate is not valid yet',
        );
    }
  }
}
