// Kubernetes names for Apigee names. Apigee allows names Kubernetes does not (capitals, _, spaces,
// longer than 63); each is lowercased, other characters become -, and the name is cut to 63. Names
// that meet after that, or that had to be cut, get a short hash of the original, so the result depends
// only on the set of names, never on the order they were read in. The original is kept in the
// gatehouse.dev/apigee-name annotation.
import { createHash } from 'node:crypto';

const MAX = 63;

export function baseName(original: string): string {
  const s = original
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s === '' ? 'x' : s;
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 6);

function withHash(base: string, original: string): string {
  return `${base.slice(0, MAX - 7).replace(/-+$/, '')}-${hash(original)}`;
}

/** A DNS-1123 label for each distinct original, deterministic for the set. */
export function deriveNames(originals: Iterable<string>): Map<string, string> {
  const distinct = [...new Set(originals)];
  const byBase = new Map<string, string[]>();
  for (const o of distinct) byBase.set(baseName(o), [...(byBase.get(baseName(o)) ?? []), o]);
  const out = new Map<string, string>();
  for (const [base, group] of byBase)
    for (const o of group) out.set(o, group.length > 1 || base.length > MAX ? withHash(base, o) : base);
  return out;
}

/** A flow or fault-rule name: letters, digits, -, _ and . (at most 63), unique among `taken`. */
export function flowName(original: string, taken: Set<string>): string {
  let s = original.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  if (s === '') s = 'flow';
  s = s.slice(0, MAX).replace(/[^A-Za-z0-9]+$/, '');
  let name = s;
  for (let i = 2; taken.has(name); i += 1) name = `${s.slice(0, MAX - String(i).length - 1)}-${i}`;
  taken.add(name);
  return name;
}
