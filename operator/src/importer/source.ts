// Where bundles come from: a folder holding apiproxy/ (or sharedflowbundle/), that folder itself, a
// .zip as Apigee's management API exports it, or a folder of any of these (searched recursively).
// A bundle is read whole into memory, bounded, before anything is converted: zip entries and sizes are
// checked before extraction (zip bombs), and no zip entry or symbolic link may leave the bundle.
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { unzipSync } from 'fflate';
import { ImportNotABundleError, ImportUnsafePathError, ImportZipError } from './errors.ts';

export type BundleKind = 'apiproxy' | 'sharedflowbundle';

/** A bundle's files by path relative to the bundle: `apiproxy/policies/Quota-1.xml`. */
export interface BundleFiles {
  kind: BundleKind;
  files: ReadonlyMap<string, Uint8Array>;
}

export interface BundleInput {
  /** The path as found: the folder holding apiproxy/, the apiproxy/ folder, or the .zip. */
  source: string;
  /** A name for the output folder: the bundle folder's or zip's base name. */
  name: string;
  /** Reads the bundle; throws an ImportError naming the file. */
  load(): BundleFiles;
}

export interface ReadLimits {
  /** Most files (zip entries) in one bundle. */
  maxEntries: number;
  /** Most bytes of one bundle, uncompressed. */
  maxBytes: number;
}

export const defaultLimits: ReadLimits = { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 };

const kinds: readonly BundleKind[] = ['apiproxy', 'sharedflowbundle'];
const MAX_SEARCH_DEPTH = 8;

const isDir = (path: string) => statOrUndefined(path)?.isDirectory() ?? false;

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The bundles named by one command-line path; throws ImportNotABundleError when there are none. */
export function findBundles(path: string, limits: ReadLimits = defaultLimits): BundleInput[] {
  const st = statOrUndefined(path);
  if (!st) throw new ImportNotABundleError(path, 'no such file or folder');
  const found = st.isDirectory() ? searchFolder(path, 0, limits) : bundleAt(path, limits);
  if (!found || (Array.isArray(found) && found.length === 0))
    throw new ImportNotABundleError(
      path,
      'not an Apigee bundle: expected a folder holding apiproxy/ or sharedflowbundle/, one of those folders, a .zip of one, or a folder of them',
    );
  return Array.isArray(found) ? found : [found];
}

/** The bundle at exactly this path, or undefined. */
function bundleAt(path: string, limits: ReadLimits): BundleInput | undefined {
  if (!isDir(path)) {
    if (!path.toLowerCase().endsWith('.zip')) return undefined;
    return { source: path, name: basename(path).replace(/\.zip$/i, ''), load: () => readZip(path, limits) };
  }
  const base = basename(resolve(path));
  if ((kinds as string[]).includes(base)) {
    const parent = resolve(path, '..');
    return { source: path, name: basename(parent), load: () => readFolder(parent, base as BundleKind, limits) };
  }
  for (const kind of kinds)
    if (isDir(join(path, kind)))
      return { source: path, name: basename(resolve(path)), load: () => readFolder(path, kind, limits) };
  return undefined;
}

function searchFolder(path: string, depth: number, limits: ReadLimits): BundleInput[] {
  const here = bundleAt(path, limits);
  if (here) return [here];
  if (depth >= MAX_SEARCH_DEPTH) return [];
  const entries = readdirSync(path, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return entries.flatMap((e) => {
    const child = join(path, e.name);
    if (e.isDirectory()) return searchFolder(child, depth + 1, limits);
    if (e.isFile() && e.name.toLowerCase().endsWith('.zip')) return [bundleAt(child, limits)!];
    return [];
  });
}

/** Reads `root/<kind>/**`; a symbolic link may point only inside the bundle. */
function readFolder(root: string, kind: BundleKind, limits: ReadLimits): BundleFiles {
  const realRoot = realpathSync(root);
  const files = new Map<string, Uint8Array>();
  let bytes = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, e.name);
      const rel = relative(root, full).split(sep).join('/');
      let target = full;
      if (lstatSync(full).isSymbolicLink()) {
        let real: string;
        try {
          real = realpathSync(full);
        } catch {
          throw new ImportUnsafePathError(rel, 'a symbolic link whose target does not exist');
        }
        if (real !== realRoot && !real.startsWith(realRoot + sep))
          throw new ImportUnsafePathError(rel, 'a symbolic link that points outside the bundle');
        target = real;
      }
      const st = statSync(target);
      if (st.isDirectory()) {
        if (target === full) walk(full);
        continue;
      }
      if (!st.isFile()) continue;
      bytes += st.size;
      if (files.size + 1 > limits.maxEntries || bytes > limits.maxBytes)
        throw new ImportZipError(
          rel,
          `the bundle holds more than ${limits.maxEntries} files or ${limits.maxBytes} bytes`,
        );
      files.set(rel, readFileSync(target));
    }
  };
  walk(join(root, kind));
  return { kind, files };
}

/** Why a zip entry's name is refused, or undefined when it stays inside the bundle. */
export function unsafeEntryName(name: string): string | undefined {
  if (name.includes('\\')) return 'a backslash in an entry name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'an absolute entry name';
  if (name.split('/').some((s) => s === '..')) return 'an entry name with ..';
  if (name.includes('\0')) return 'a NUL in an entry name';
  return undefined;
}

function readZip(path: string, limits: ReadLimits): BundleFiles {
  const st = statSync(path);
  if (st.size > limits.maxBytes) throw new ImportZipError(path, `larger than ${limits.maxBytes} bytes`);
  const data = readFileSync(path);
  // Every entry's name and declared size are checked before any is inflated; the inflated sizes are
  // checked again after (a header may lie; fflate inflates into a buffer of the declared size).
  let entries = 0;
  let declared = 0;
  let unzipped: Record<string, Uint8Array>;
  try {
    unzipped = unzipSync(data, {
      filter: (f) => {
        const unsafe = unsafeEntryName(f.name);
        if (unsafe) throw new ImportUnsafePathError(`${path}: ${f.name}`, unsafe);
        entries += 1;
        declared += f.originalSize;
        if (entries > limits.maxEntries) throw new ImportZipError(path, `more than ${limits.maxEntries} entries`);
        if (declared > limits.maxBytes)
          throw new ImportZipError(path, `more than ${limits.maxBytes} bytes uncompressed (a zip bomb?)`);
        return !f.name.endsWith('/');
      },
    });
  } catch (err) {
    if (err instanceof ImportUnsafePathError || err instanceof ImportZipError) throw err;
    throw new ImportZipError(path, `not a readable zip: ${(err as Error).message}`);
  }
  const names = Object.keys(unzipped).sort();
  const total = names.reduce((n, k) => n + unzipped[k]!.length, 0);
  if (total > limits.maxBytes) throw new ImportZipError(path, `more than ${limits.maxBytes} bytes uncompressed`);
  // Apigee exports apiproxy/ at the root; a zip of the bundle folder has one more level.
  for (const kind of kinds) {
    for (const prefix of ['', ...new Set(names.map((n) => n.split('/')[0] + '/'))]) {
      if (!names.some((n) => n.startsWith(`${prefix}${kind}/`))) continue;
      const files = new Map<string, Uint8Array>();
      for (const n of names) if (n.startsWith(`${prefix}${kind}/`)) files.set(n.slice(prefix.length), unzipped[n]!);
      return { kind, files };
    }
  }
  throw new ImportNotABundleError(path, 'the zip holds no apiproxy/ or sharedflowbundle/ folder');
}
