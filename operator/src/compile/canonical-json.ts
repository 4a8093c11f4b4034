// Canonical JSON: object keys sorted at every level, so equal values serialise to equal bytes (the
// snapshot version is a hash of it, and policy configs are stored in it).
import { createHash, type Hash } from 'node:crypto';

const quotedKeys = new Map<string, string>();

/** JSON.stringify of a key, cached: snapshots repeat a few hundred keys millions of times. */
function quoted(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (quotedKeys.size < 10_000) quotedKeys.set(key, q);
  }
  return q;
}

/** Compact canonical JSON into `parts` (joined once): it hashes multi-MB snapshots. */
function write(value: unknown, parts: string[]): void {
  if (Array.isArray(value)) {
    parts.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) parts.push(',');
      if (value[i] === undefined) parts.push('null');
      else write(value[i], parts);
    }
    parts.push(']');
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    let first = true;
    parts.push('{');
    for (const key of Object.keys(record).sort()) {
      if (record[key] === undefined) continue;
      parts.push(first ? '' : ',', quoted(key), ':');
      first = false;
      write(record[key], parts);
    }
    parts.push('}');
  } else {
    parts.push(JSON.stringify(value) ?? 'null');
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .filter((k) => record[k] !== undefined)
        .map((k) => [k, sortKeys(record[k])]),
    );
  }
  return value;
}

export function canonicalJson(value: unknown, indent?: number): string {
  if (indent !== undefined) return JSON.stringify(sortKeys(value), null, indent);
  const parts: string[] = [];
  write(value, parts);
  return parts.join('');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * sha256Hex(JSON.stringify(value)) for plain data (no toJSON, no cycles), without building the text:
 * the top `depth` levels of objects and arrays are written piece by piece into the hash, deeper values
 * are stringified one at a time. The snapshot version hashes megabytes of JSON on every compile; as
 * one string that is a large object of the old generation per compile (docs/architecture.md
 * #the-operator-at-scale-issue-20).
 */
export function jsonSha256Hex(value: unknown, depth = 3): string {
  const hash = createHash('sha256');
  writeJson(value, hash, depth);
  return hash.digest('hex');
}

const skipped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

function writeJson(value: unknown, hash: Hash, depth: number): void {
  if (depth <= 0 || value === null || typeof value !== 'object') {
    hash.update(JSON.stringify(value) ?? 'null');
    return;
  }
  if (Array.isArray(value)) {
    hash.update('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) hash.update(',');
      if (skipped(value[i])) hash.update('null');
      else writeJson(value[i], hash, depth - 1);
    }
    hash.update(']');
    return;
  }
  const record = value as Record<string, unknown>;
  let first = true;
  hash.update('{');
  for (const key of Object.keys(record)) {
    if (skipped(record[key])) continue;
    hash.update(first ? quoted(key) : `,${quoted(key)}`);
    hash.update(':');
    first = false;
    writeJson(record[key], hash, depth - 1);
  }
  hash.update('}');
}
