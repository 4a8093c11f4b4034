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
 * the top `depth` levels of objects and arrays are written piece by piece, deeper values stringified
 * one at a time, and the pieces go into the hash some 64 KB at a time. The snapshot version hashes
 * megabytes of JSON on every compile; as one string that is a large object of the old generation per
 * compile (docs/architecture.md#the-operator-at-scale-issue-20).
 */
export function jsonSha256Hex(value: unknown, depth = 3): string {
  const out = new HashWriter();
  writeJson(value, out, depth);
  return out.digest();
}

class HashWriter {
  private readonly hash: Hash = createHash('sha256');
  private parts: string[] = [];
  private length = 0;

  push(text: string): void {
    this.parts.push(text);
    this.length += text.length;
    if (this.length >= 65_536) this.flush();
  }

  digest(): string {
    this.flush();
    return this.hash.digest('hex');
  }

  private flush(): void {
    this.hash.update(this.parts.join(''));
    this.parts = [];
    this.length = 0;
  }
}

const skipped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

function writeJson(value: unknown, out: HashWriter, depth: number): void {
  if (depth <= 0 || value === null || typeof value !== 'object') {
    out.push(JSON.stringify(value) ?? 'null');
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      if (skipped(value[i])) out.push('null');
      else writeJson(value[i], out, depth - 1);
    }
    out.push(']');
    return;
  }
  const record = value as Record<string, unknown>;
  let first = true;
  out.push('{');
  for (const key of Object.keys(record)) {
    if (skipped(record[key])) continue;
    out.push(first ? quoted(key) : `,${quoted(key)}`);
    out.push(':');
    first = false;
    writeJson(record[key], out, depth - 1);
  }
  out.push('}');
}
