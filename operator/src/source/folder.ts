// The folder source (GitOps manifests, `gatehouse compile -f`, `gatehouse dev`): every .yaml/.yml/.json
// file under a directory (or one file), multi-document, `kind: List` expanded. Each object keeps its
// file and line so diagnostics can name it. A document that does not parse is a diagnostic, not a
// failure of the whole load.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { GatehouseError } from '../../../lib/errors.ts';
import type { Diagnostic } from '../compile/diagnostics.ts';
import type { SourceObject } from '../compile/intake.ts';

/** The manifests path cannot be read. Exit 1. */
export class SourceReadError extends GatehouseError {
  constructor(path: string, cause: unknown) {
    super('GH_ERR_SOURCE_READ', `cannot read manifests at ${path}: ${(cause as Error).message}`, { cause });
  }
}

export interface LoadResult {
  objects: SourceObject[];
  diagnostics: Diagnostic[];
}

const manifestFile = /\.(ya?ml|json)$/i;

/** The manifests a path stands for: itself when it is a file, else its .yaml/.yml/.json files (recursively, dot-files skipped) in name order. */
export function listManifestFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) =>
      e.isDirectory() ? listManifestFiles(join(path, e.name)) : manifestFile.test(e.name) ? [join(path, e.name)] : [],
    );
}

/** Parses one file's text; `file` is only used to name objects and errors. */
export function parseManifests(text: string, file: string): LoadResult {
  const lineCounter = new LineCounter();
  const objects: SourceObject[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter, prettyErrors: false })) {
    if (!('errors' in doc)) continue; // an empty stream
    const line = lineCounter.linePos(doc.contents?.range[0] ?? doc.range[0]).line;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const at = err.pos ? lineCounter.linePos(err.pos[0]).line : line;
        diagnostics.push({
          severity: 'error',
          code: 'GH_ERR_SOURCE_YAML',
          file,
          line: at,
          message: `line ${at}: ${err.message.split('\n')[0]}`,
        });
      }
      continue;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const record = value as { kind?: unknown; items?: unknown };
    if (record.kind === 'List' && Array.isArray(record.items)) {
      for (const item of record.items as unknown[]) objects.push({ object: item, origin: { file, line } });
    } else {
      objects.push({ object: value, origin: { file, line } });
    }
  }
  return { objects, diagnostics };
}

/** How a file is named in diagnostics: relative to `cwd` when inside it, else absolute. */
export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(file) : rel;
}

/** Loads a directory (recursively) or a single file. File names are shown as displayPath says. */
export function loadFolder(path: string, cwd = process.cwd()): LoadResult {
  let files: string[];
  try {
    files = listManifestFiles(path);
  } catch (err) {
    throw new SourceReadError(path, err);
  }
  const result: LoadResult = { objects: [], diagnostics: [] };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SourceReadError(file, err);
    }
    const parsed = parseManifests(text, displayPath(file, cwd));
    result.objects.push(...parsed.objects);
    result.diagnostics.push(...parsed.diagnostics);
  }
  return result;
}
