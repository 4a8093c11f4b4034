// Label and field selectors in their string form (what list and watch send), parsed so that the
// informer factory can compare them and evaluate them on cached objects: `k`, `!k`, `k=v`, `k==v`,
// `k!=v`, `k in (a,b)`, `k notin (a,b)` for labels (apimachinery's labels.Parse); `f=v`, `f==v`,
// `f!=v` for fields, of which only metadata.name and metadata.namespace can be evaluated here (the
// ones every resource supports).
import { SelectorError } from './errors.ts';

export type Requirement =
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] };

export interface Selector {
  requirements: Requirement[];
  /** The canonical string: requirements sorted, `==` written `=`, set values sorted. Equal selectors, equal strings. */
  canonical: string;
}

/** Splits on the commas that separate requirements (not those inside `in (...)`). */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function render(r: Requirement): string {
  switch (r.op) {
    case 'exists':
      return r.key;
    case '!exists':
      return `!${r.key}`;
    case '=':
    case '!=':
      return `${r.key}${r.op}${r.value}`;
    default:
      return `${r.key} ${r.op} (${r.values.join(',')})`;
  }
}

function parseRequirement(selector: string, text: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(text);
  if (set) {
    const values = [...new Set(set[3]!.split(',').map((v) => v.trim()))].sort();
    return { key: set[1]!, op: set[2] as 'in' | 'notin', values };
  }
  const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)$/.exec(text);
  if (cmp) return { key: cmp[1]!, op: cmp[2] === '!=' ? '!=' : '=', value: cmp[3]! };
  const exists = /^(!?)([^=!\s(),]+)$/.exec(text);
  if (exists) return { key: exists[2]!, op: exists[1] ? '!exists' : 'exists' };
  throw new SelectorError(selector, `cannot parse "${text}"`);
}

/** Parses a label or field selector ('' or undefined: everything). */
export function parseSelector(selector: string | undefined): Selector {
  const requirements = splitRequirements(selector ?? '').map((t) => parseRequirement(selector ?? '', t));
  const unique = new Map(requirements.map((r) => [render(r), r]));
  const keys = [...unique.keys()].sort();
  return { requirements: keys.map((k) => unique.get(k)!), canonical: keys.join(',') };
}

/** Whether `labels` satisfy every requirement (apimachinery semantics: `!=` and `notin` match a missing key). */
export function matchesLabels(selector: Selector, labels: Readonly<Record<string, string>> | undefined): boolean {
  return selector.requirements.every((r) => {
    const value = labels?.[r.key];
    switch (r.op) {
      case 'exists':
        return value !== undefined;
      case '!exists':
        return value === undefined;
      case '=':
        return value === r.value;
      case '!=':
        return value !== r.value;
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
    }
  });
}

const evaluableFields = new Set(['metadata.name', 'metadata.namespace']);

/** Whether a cache can evaluate every requirement of this field selector (only `=`/`!=` on name and namespace). */
export function fieldsEvaluable(selector: Selector): boolean {
  return selector.requirements.every((r) => (r.op === '=' || r.op === '!=') && evaluableFields.has(r.key));
}

/** Whether the object's metadata.name and metadata.namespace satisfy the field selector (see fieldsEvaluable). */
export function matchesFields(
  selector: Selector,
  metadata: { name?: string; namespace?: string } | undefined,
): boolean {
  return selector.requirements.every((r) => {
    if (r.op !== '=' && r.op !== '!=') return false;
    const value = r.key === 'metadata.name' ? (metadata?.name ?? '') : (metadata?.namespace ?? '');
    return r.op === '=' ? value === r.value : value !== r.value;
  });
}

/**
 * Whether everything `narrow` selects, `broad` selects too, judged by the requirements alone: every
 * requirement of `broad` is one of `narrow`'s. Conservative (`k in (a,b)` is not seen to cover `k=a`),
 * never wrong.
 */
export function selectorCovers(broad: Selector, narrow: Selector): boolean {
  const have = new Set(narrow.requirements.map(render));
  return broad.requirements.every((r) => have.has(render(r)));
}
