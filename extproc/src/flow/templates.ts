// Message templates: "{variable}" is replaced by the variable's text, unknown variables by "".
// Templates come from policy configs, so the same few strings are expanded on every request: each is
// split into literal and variable parts once and kept (bounded).
import { TEMPLATE_REFERENCE } from '../../../protos/policies/expressions.ts';
import type { Variables } from './types.ts';

type Part = string | { variable: string };

const MAX_CACHED = 4096;
const cache = new Map<string, Part[]>();

/**
 * Splits "a{x}b" into ["a", {variable: "x"}, "b"]. Only variable-name-shaped references count, so a
 * JSON payload template keeps its braces (DESIGN 4a's `content: '{"error":"blocked"}'`).
 */
export function parseTemplate(text: string): Part[] {
  const parts: Part[] = [];
  const re = new RegExp(TEMPLATE_REFERENCE.source, 'g');
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push({ variable: m[1]! });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export function expandTemplate(text: string, variables: Pick<Variables, 'getString'>): string {
  if (!text.includes('{')) return text;
  let parts = cache.get(text);
  if (!parts) {
    parts = parseTemplate(text);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(text, parts);
  }
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : (variables.getString(part.variable) ?? '');
  return out;
}
