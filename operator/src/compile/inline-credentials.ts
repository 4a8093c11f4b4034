// Header values that look like credentials written inline in a policy config (AssignMessage add/set,
// RaiseFault headers and add.headers): `Authorization: Bearer eyJ...`, `x-api-key: k-123`. They would stand in the
// snapshot in clear. A guess by header name, so a warning rather than an error; values made only of
// template references (`Bearer {token}`) are fine. Password fields proper are refused by their
// types' own checks (protos/policies: BasicAuthentication, VerifyAPIKey).
import { parseTemplate } from '../../../protos/policies/templates.ts';

const credentialHeaders = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'apikey',
  'x-auth-token',
  'x-access-token',
  'cookie',
]);

/** What is left of a header value once template references and an auth scheme word are taken out. */
function literalPart(value: string): string {
  let literal: string;
  try {
    literal = parseTemplate(value, 'text')
      .filter((part): part is string => typeof part === 'string')
      .join('');
  } catch {
    literal = value; // not a valid template: the type's own check reports it
  }
  return literal.replace(/^\s*(basic|bearer|digest|token|apikey)\b/i, '').trim();
}

export interface InlineCredential {
  /** Relative to the member: "set.headers.authorization". */
  path: string;
}

function headerMaps(type: string, config: unknown): { path: string; headers: unknown }[] {
  const c = config as Record<string, unknown> | null;
  if (c === null || typeof c !== 'object') return [];
  const headersOf = (o: unknown) =>
    o !== null && typeof o === 'object' ? (o as { headers?: unknown }).headers : undefined;
  if (type === 'RaiseFault')
    return [
      { path: 'headers', headers: c.headers },
      { path: 'add.headers', headers: headersOf(c.add) },
    ];
  if (type !== 'AssignMessage') return [];
  const out = ['add', 'set'].map((op) => ({ path: `${op}.headers`, headers: headersOf(c[op]) }));
  if (Array.isArray(c.operations)) {
    c.operations.forEach((entry: unknown, i) => {
      for (const op of ['add', 'set'])
        out.push({
          path: `operations[${i}].${op}.headers`,
          headers: headersOf((entry as Record<string, unknown> | null)?.[op]),
        });
    });
  }
  return out;
}

export function inlineCredentials(type: string, config: unknown): InlineCredential[] {
  const found: InlineCredential[] = [];
  for (const { path, headers } of headerMaps(type, config)) {
    if (headers === null || typeof headers !== 'object') continue;
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      if (credentialHeaders.has(name.toLowerCase()) && typeof value === 'string' && literalPart(value) !== '')
        found.push({ path: `${path}.${name}` });
    }
  }
  return found;
}
