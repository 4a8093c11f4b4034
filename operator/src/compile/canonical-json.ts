// Canonical JSON: object keys sorted at every level, so equal values serialise to equal bytes (the
// snapshot version is a hash of it, and policy configs are stored in it).
import { createHash } from 'node:crypto';

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
