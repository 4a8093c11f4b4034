// Splitting and decoding a compact JWS/JWT before any key is touched: the size is bounded before
// anything is parsed, each part must be strict base64url, and a header or payload whose JSON names a
// member twice is refused (JSON.parse would keep the last one, another library the first: the token
// would mean different things to the signer's checks and ours).
import secureJsonParse from 'secure-json-parse';
import { GatehouseError } from '../../../../../lib/errors.ts';

/** Compact tokens longer than this are refused unparsed (a JWT in an Authorization header is ~1 KiB). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export interface CompactParts {
  /** The token as given (no "Bearer "). */
  compact: string;
  headerB64: string;
  payloadB64: string;
  signatureB64: string;
  header: Record<string, unknown>;
}

export type DecodeFailure = 'too-large' | 'malformed' | 'duplicate-member';

export class TokenDecodeError extends GatehouseError {
  readonly reason: DecodeFailure;
  constructor(reason: DecodeFailure, message: string) {
    super('GH_ERR_TOKEN_DECODE', message);
    this.reason = reason;
  }
}

/** The token in a variable's value: a leading "Bearer " (any case) is removed, as Apigee does. */
export function tokenText(value: string): string {
  const trimmed = value.trim();
  return /^bearer\s+/i.test(trimmed) ? trimmed.replace(/^bearer\s+/i, '') : trimmed;
}

/** Bytes of one base64url part; throws TokenDecodeError when it is not strict base64url. */
export function base64urlBytes(part: string, what: string): Buffer {
  if (!BASE64URL.test(part) || part.length % 4 === 1)
    throw new TokenDecodeError('malformed', `${what} is not base64url`);
  return Buffer.from(part, 'base64url');
}

/**
 * The first member name a JSON object text holds twice at its top level, or undefined. A scanner of
 * strings and nesting only: names are compared after JSON unescaping ("\u0061lg" is "alg").
 */
export function duplicateMember(json: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectName) {
        const name = JSON.parse(json.slice(i, j + 1)) as string;
        if (seen.has(name)) return name;
        seen.add(name);
        expectName = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1 && c === '{') expectName = true;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectName = true;
    }
  }
  return undefined;
}

/** A JSON object from base64url, refusing duplicate members, prototype keys and non-objects. */
export function decodeJsonObject(part: string, what: string): Record<string, unknown> {
  const text = base64urlBytes(part, what).toString('utf8');
  let value: unknown;
  try {
    value = secureJsonParse.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new TokenDecodeError('malformed', `${what} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TokenDecodeError('malformed', `${what} is not a JSON object`);
  const twice = duplicateMember(text);
  if (twice !== undefined) throw new TokenDecodeError('duplicate-member', `${what} names "${twice}" twice`);
  return value as Record<string, unknown>;
}

/** The three parts of a compact JWS and its decoded header. */
export function splitCompact(compact: string): CompactParts {
  if (compact.length > MAX_TOKEN_LENGTH)
    throw new TokenDecodeError('too-large', `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  const parts = compact.split('.');
  if (parts.length !== 3) throw new TokenDecodeError('malformed', 'a compact token has three parts');
  const [headerB64, payloadB64, signatureB64] = parts as [string, string, string];
  // The payload is decoded by the caller: with RFC 7797 b64=false it is not base64url.
  base64urlBytes(signatureB64, 'the signature');
  return { compact, headerB64, payloadB64, signatureB64, header: decodeJsonObject(headerB64, 'the header') };
}
