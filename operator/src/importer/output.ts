// Deterministic, readable YAML: one file per object (`apiproxy-<name>.yaml`, `apipolicy-<name>.yaml`)
// in one folder per bundle, keys in the order the importer builds them (apiVersion, kind, metadata,
// spec; spec members in schema order), no line wrapping, no anchors.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ImportedObject } from './convert-bundle.ts';

export function toYaml(o: ImportedObject): string {
  return stringify(o, { lineWidth: 0, aliasDuplicateObjects: false, singleQuote: true });
}

export function fileNameOf(o: ImportedObject): string {
  return `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;
}

/** Writes the bundle's folder afresh: files of an earlier import that no longer exist are removed. */
export function writeBundle(dir: string, objects: readonly ImportedObject[]): void {
  mkdirSync(dir, { recursive: true });
  const files = new Map(objects.map((o) => [fileNameOf(o), toYaml(o)]));
  for (const f of readdirSync(dir)) if (f.endsWith('.yaml') && !files.has(f)) rmSync(join(dir, f));
  for (const [f, text] of files) writeFileSync(join(dir, f), text);
}
