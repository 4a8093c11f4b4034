// The folder source (GitOps manifests, `gatehouse compile -f`, `gatehouse dev`): every .yaml/.yml/.json
// file under a directory (or one file), multi-document, `kind: List` expanded. Each object keeps its
// file and line so diagnostics can name it. Nothing in a folder fails the whole load but the folder
// itself being unreadable: a document that does not parse, a file that cannot be read or is not
// UTF-8, a symbolic link that dangles, loops or leads out of the folder are diagnostics naming the file.
//
// Reading happens in three steps, shared by the one-shot load (`gatehouse compile`) and the live
// folder source (watch-folder.ts): list the files (listManifests), read their bytes, and fold the
// reads into a ManifestCache, which keeps each file's last good objects: a file that cannot be read
// keeps serving what it held, and a file with a document that does not parse keeps the objects that
// document may have been.
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { GatehouseError } from '../../../lib/errors.ts';
import type { Diagnostic } from '../compile/diagnostics.ts';
import type { SourceObject } from '../compile/intake.ts';

/** The manifests path itself cannot be read (missing, not a folder we may list). Exit 1. */
export class SourceReadError extends GatehouseError {
  readonly path: string;

  constructor(path: string, cause: unknown) {
    super('GH_ERR_SOURCE_READ', `cannot read manifests at ${path}: ${reasonOf(cause)}`, { cause });
    this.path = path;
  }
}

export interface LoadResult {
  objects: SourceObject[];
  diagnostics: Diagnostic[];
}

/**
 * Aliases a document may expand (the yaml package's count: every alias weighs as many nodes as its
 * anchor holds aliases). Manifests rarely use aliases; an alias bomb (aliases of aliases, exponential
 * when expanded) stops here as a diagnostic instead of taking the process's memory.
 */
export const maxAliasCount = 100;

/** Documents with errors reported per file; a binary file would otherwise report thousands. */
const maxErrorsPerFile = 10;

const manifestFile = /\.(ya?ml|json)$/i;

/** `ENOENT: no such file or directory` rather than the whole syscall line. */
export function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.message === 'string') {
    const text = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return `${e.code}: ${text}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A path under the manifests that cannot be used as one, and why. */
export interface ListingProblem {
  path: string;
  severity: 'error' | 'warning';
  code: string;
  message: string;
  /** A folder that cannot be listed: the files read from it before keep their last state. */
  directory?: boolean;
}

export interface ManifestListing {
  /** The manifests path as given. */
  root: string;
  /** Every manifest path found, in name order (depth first): the files to read and the refused ones. */
  paths: string[];
  /** The paths to read: `paths` without the refused ones. */
  files: string[];
  problems: ListingProblem[];
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/**
 * The manifests a path stands for: itself when it is a file, else its .yaml/.yml/.json files,
 * recursively, in name order, hidden entries skipped (Kubernetes volume internals like `..data` among
 * them). Symbolic links to files inside the folder are followed (ConfigMap and Secret volumes are made
 * of them); a link that dangles or loops is a problem of that file; a link to a file outside the
 * folder is not read (a checked-in link must not pull in a file of the host); a link to a folder is
 * not followed (the same objects twice would be duplicates, and a loop would never end). Throws
 * SourceReadError when the path itself cannot be read.
 */
export function listManifests(path: string): ManifestListing {
  let root: Stats;
  let realRoot: string;
  try {
    root = statSync(path);
    realRoot = realpathSync(path);
  } catch (err) {
    throw new SourceReadError(path, err);
  }
  const listing: ManifestListing = { root: path, paths: [], files: [], problems: [] };
  if (!root.isDirectory()) {
    // One file; a FIFO or a device would block the read, so they are refused like inside a folder.
    if (!root.isFile()) throw new SourceReadError(path, new Error('not a regular file or a folder'));
    listing.paths.push(path);
    listing.files.push(path);
    return listing;
  }
  const problem = (p: ListingProblem) => {
    listing.problems.push(p);
    if (!p.directory) listing.paths.push(p.path);
  };
  const file = (path: string) => {
    listing.paths.push(path);
    listing.files.push(path);
  };
  const symlink = (full: string, manifest: boolean) => {
    let target;
    try {
      target = statSync(full);
    } catch (err) {
      if (!manifest) return; // never one of ours
      let to = '?';
      try {
        to = readlinkSync(full);
      } catch {
        // gone meanwhile; the reason says enough
      }
      const code = (err as NodeJS.ErrnoException).code;
      problem({
        path: full,
        severity: 'error',
        code: 'GH_ERR_SOURCE_READ',
        message:
          code === 'ENOENT'
            ? `a symbolic link to ${to}, which does not exist`
            : code === 'ELOOP'
              ? `a symbolic link to ${to} that loops`
              : `a symbolic link to ${to} that cannot be followed (${reasonOf(err)})`,
      });
      return;
    }
    if (target.isDirectory()) {
      problem({
        path: full,
        severity: 'warning',
        code: 'GH_WARN_SOURCE_SKIPPED',
        message: 'a symbolic link to a folder; not followed (point at the folder itself)',
      });
      return;
    }
    if (!manifest) return;
    if (!target.isFile()) {
      problem({
        path: full,
        severity: 'error',
        code: 'GH_ERR_SOURCE_READ',
        message: 'not a regular file (a FIFO, socket or device); not read',
      });
      return;
    }
    let real: string;
    try {
      real = realpathSync(full);
    } catch (err) {
      problem({ path: full, severity: 'error', code: 'GH_ERR_SOURCE_READ', message: reasonOf(err) });
      return;
    }
    if (!inside(realRoot, real)) {
      problem({
        path: full,
        severity: 'error',
        code: 'GH_ERR_SOURCE_OUTSIDE',
        message: `a symbolic link to ${real}, outside the manifests folder; not read`,
      });
      return;
    }
    file(full);
  };
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === path) throw new SourceReadError(path, err);
      problem({
        path: dir,
        directory: true,
        severity: 'error',
        code: 'GH_ERR_SOURCE_READ',
        message: `cannot list the folder (${reasonOf(err)})`,
      });
      return;
    }
    for (const e of entries.filter((e) => !e.name.startsWith('.')).sort(byName)) {
      const full = join(dir, e.name);
      const manifest = manifestFile.test(e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isSymbolicLink()) symlink(full, manifest);
      else if (!manifest) continue;
      else if (e.isFile()) file(full);
      else
        problem({
          path: full,
          severity: 'error',
          code: 'GH_ERR_SOURCE_READ',
          message: 'not a regular file (a FIFO, socket or device); not read',
        });
    }
  };
  walk(path);
  return listing;
}

/** The 1-based line of the first byte that is not valid UTF-8. */
function firstInvalidUtf8Line(bytes: Uint8Array): number {
  let line = 1;
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    const need =
      b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return line;
    for (let k = 1; k <= need; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return line;
    if (b === 0x0a) line++;
    i += need + 1;
  }
  return line;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a file's bytes (UTF-8, an optional BOM dropped) and parses them; `file` names objects and errors. */
export function parseManifestBytes(bytes: Uint8Array, file: string): LoadResult {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    const line = firstInvalidUtf8Line(bytes);
    return {
      objects: [],
      diagnostics: [
        {
          severity: 'error',
          code: 'GH_ERR_SOURCE_ENCODING',
          file,
          line,
          message: `line ${line}: not UTF-8 text; not read`,
        },
      ],
    };
  }
  return parseManifests(text, file);
}

/** Parses one file's text; `file` is only used to name objects and errors. Never throws. */
export function parseManifests(text: string, file: string): LoadResult {
  const lineCounter = new LineCounter();
  const objects: SourceObject[] = [];
  const diagnostics: Diagnostic[] = [];
  let errors = 0;
  const error = (line: number, message: string) => {
    errors++;
    if (errors <= maxErrorsPerFile)
      diagnostics.push({
        severity: 'error',
        code: 'GH_ERR_SOURCE_YAML',
        file,
        line,
        message: `line ${line}: ${message}`,
      });
  };
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  } catch (err) {
    error(1, `does not parse: ${(err as Error).message.split('\n')[0]}`);
    return { objects, diagnostics };
  }
  for (const doc of Array.isArray(docs) ? docs : []) {
    const line = lineCounter.linePos(doc.contents?.range[0] ?? doc.range[0]).line;
    if (doc.errors.length > 0) {
      for (const err of doc.errors)
        error(err.pos ? lineCounter.linePos(err.pos[0]).line : line, err.message.split('\n')[0]!);
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (err) {
      // The yaml package throws ReferenceError for an alias bomb and for an alias without its anchor.
      const message = (err as Error).message;
      error(
        line,
        /excessive alias count/i.test(message)
          ? `the document expands more than ${maxAliasCount} aliases (an alias bomb?); not read`
          : message.split('\n')[0]!,
      );
      continue;
    }
    if (value === null || value === undefined) continue;
    const record = value as { kind?: unknown; items?: unknown };
    if (record.kind === 'List' && Array.isArray(record.items)) {
      for (const item of record.items as unknown[]) objects.push({ object: item, origin: { file, line } });
    } else {
      objects.push({ object: value, origin: { file, line } });
    }
  }
  if (errors > maxErrorsPerFile)
    diagnostics.push({
      severity: 'error',
      code: 'GH_ERR_SOURCE_YAML',
      file,
      message: `${errors - maxErrorsPerFile} more YAML error(s) not shown`,
    });
  return { objects, diagnostics };
}

/** How a file is named in diagnostics: relative to `cwd` when inside it, else absolute. */
export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(file) : rel;
}

/** One file's bytes, or why they could not be read. */
export type FileRead = { bytes: Buffer } | { error: unknown };

export function readManifestFileSync(file: string): FileRead {
  try {
    return { bytes: readFileSync(file) };
  } catch (error) {
    return { error };
  }
}

/** `Kind/namespace/name` of a parsed object, when it has a kind and a name. */
function objectKey(object: unknown): string | undefined {
  const o = object as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
  if (typeof o?.kind !== 'string' || typeof o.metadata?.name !== 'string') return undefined;
  const ns = typeof o.metadata.namespace === 'string' && o.metadata.namespace !== '' ? o.metadata.namespace : 'default';
  return `${o.kind}/${ns}/${o.metadata.name}`;
}

interface FileEntry {
  /** The bytes of the last successful read (a read of the same bytes changes nothing). */
  bytes: Buffer;
  /** What the file contributes: what it parsed to, plus what it keeps from before while broken. */
  objects: SourceObject[];
  /** The parse's diagnostics. */
  diagnostics: Diagnostic[];
}

/**
 * Each file's objects, folded from one reading of the folder after another. A file's entry changes
 * only after a successful read: a file that cannot be read (or is refused) keeps serving the objects
 * of its last good read, and is named with the reason; a file with a document that does not parse
 * contributes the documents that do, plus the objects of its last read that are missing from them
 * (the broken document may be one of them). When a file reads and parses cleanly its entry is exactly
 * what it parsed to, so once every bad file is fixed or removed the state equals a fresh load.
 */
export class ManifestCache {
  private files = new Map<string, FileEntry>();
  private readonly cwd: string;
  private lastKey = '';

  constructor(cwd = process.cwd()) {
    this.cwd = cwd;
  }

  /**
   * Folds one reading into the cache; `changed` says whether the result differs from the previous
   * update's (a file added, removed, re-read with other bytes, or a problem that came or went).
   */
  update(listing: ManifestListing, reads: ReadonlyMap<string, FileRead>): LoadResult & { changed: boolean } {
    const next = new Map<string, FileEntry>();
    const result: LoadResult = { objects: [], diagnostics: [] };
    // What this reading looked like, to tell whether anything changed since the last one.
    const key: string[] = [];
    let reparsed = false;
    const show = (path: string) => displayPath(path, this.cwd);
    const kept = (path: string, reason: Diagnostic) => {
      const previous = this.files.get(path);
      if (previous) {
        next.set(path, previous);
        result.objects.push(...previous.objects);
        if (previous.objects.length > 0) reason.message += '; its last good objects keep serving';
      }
      result.diagnostics.push(reason);
      key.push(`${path}\0${reason.code}\0${reason.message}`);
    };
    const problems = new Map(listing.problems.filter((p) => !p.directory).map((p) => [p.path, p]));
    for (const path of listing.paths) {
      const problem = problems.get(path);
      if (problem) {
        kept(path, { severity: problem.severity, code: problem.code, file: show(path), message: problem.message });
        continue;
      }
      const read = reads.get(path);
      if (!read || 'error' in read) {
        const reason = read ? reasonOf(read.error) : 'not read';
        kept(path, {
          severity: 'error',
          code: 'GH_ERR_SOURCE_READ',
          file: show(path),
          message: `cannot read (${reason})`,
        });
        continue;
      }
      const previous = this.files.get(path);
      let entry = previous;
      if (!previous?.bytes.equals(read.bytes)) {
        entry = this.parse(path, read.bytes, previous);
        reparsed = true;
      }
      next.set(path, entry!);
      result.objects.push(...entry!.objects);
      result.diagnostics.push(...entry!.diagnostics);
      key.push(path);
    }
    // A folder that cannot be listed keeps what was read from it.
    for (const p of listing.problems.filter((p) => p.directory)) {
      const under = [...this.files.keys()].filter((f) => f.startsWith(p.path + sep) && !next.has(f));
      for (const f of under) {
        const previous = this.files.get(f)!;
        next.set(f, previous);
        result.objects.push(...previous.objects);
      }
      const diagnostic: Diagnostic = {
        severity: p.severity,
        code: p.code,
        file: show(p.path),
        message: under.length > 0 ? `${p.message}; what was read from it keeps serving` : p.message,
      };
      result.diagnostics.push(diagnostic);
      key.push(`${p.path}\0${diagnostic.message}\0${under.join('\0')}`);
    }
    const joined = key.join('\n');
    const changed = reparsed || joined !== this.lastKey;
    this.lastKey = joined;
    this.files = next;
    return { ...result, changed };
  }

  /** A file's new entry; while a document does not parse, the objects missing from the others stay. */
  private parse(path: string, bytes: Buffer, previous: FileEntry | undefined): FileEntry {
    const file = displayPath(path, this.cwd);
    const { objects, diagnostics } = parseManifestBytes(bytes, file);
    if (previous && diagnostics.some((d) => d.severity === 'error')) {
      const present = new Set(objects.map((o) => objectKey(o.object)));
      const keep = previous.objects.filter((o) => {
        const key = objectKey(o.object);
        return key !== undefined && !present.has(key);
      });
      if (keep.length > 0) {
        objects.push(...keep);
        diagnostics.push({
          severity: 'warning',
          code: 'GH_WARN_SOURCE_KEPT',
          file,
          message: `keeps serving ${keep.map((o) => objectKey(o.object)).join(', ')} from its last good read until it parses`,
        });
      }
    }
    return { bytes, objects, diagnostics };
  }
}

/** Loads a directory (recursively) or a single file once. File names are shown as displayPath says. */
export function loadFolder(path: string, cwd = process.cwd()): LoadResult {
  const listing = listManifests(path);
  const reads = new Map(listing.files.map((f) => [f, readManifestFileSync(f)]));
  const { objects, diagnostics } = new ManifestCache(cwd).update(listing, reads);
  return { objects, diagnostics };
}
