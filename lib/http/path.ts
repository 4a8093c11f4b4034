// Request path normalisation exactly as Envoy v1.36's HttpConnectionManager does it (legacy path:
// UHV is off), for any part of Gatehouse that must see a path as Envoy routes it. Pure: no I/O.
//
//   maybeNormalizePath (source/common/http/conn_manager_utility.cc): `#` anywhere -> reject; then
//     path_with_escaped_slashes_action (PathUtil::unescapeSlashes); then normalize_path
//     (PathUtil::canonicalPath); then merge_slashes (PathUtil::mergeSlashes), in that order.
//   PathUtil::canonicalPath (source/common/http/path_utility.cc, before 1.36.10): the part before the
//     first `?` goes through googleurl's url::CanonicalizePath, the query is kept byte for byte.
//   url::CanonicalizePath (googleurl url/url_canon_path.cc, DoPath/DoPartialPath with the IE-derived
//     kPathCharLookup table Envoy still builds): dot segments (also %2e) removed and clamped at the
//     root, `\` becomes `/`, escapes of unreserved characters decoded, other escapes kept as sent,
//     characters that must be escaped escaped (upper-case hex), NUL (raw or %00) fails.

/** HttpConnectionManager.path_with_escaped_slashes_action (IMPLEMENTATION_SPECIFIC_DEFAULT is KEEP_UNCHANGED). */
export type EscapedSlashesAction =
  'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';

export interface PathNormalization {
  normalizePath: boolean;
  mergeSlashes: boolean;
  escapedSlashes: EscapedSlashesAction;
}

/** ConnectionManagerUtility::NormalizePathAction, with the path to continue with or redirect to. */
export type NormalizePathResult =
  { action: 'continue'; path: string } | { action: 'redirect'; path: string } | { action: 'reject' };

// kPathCharLookup's flags.
const SPECIAL = 1;
const ESCAPE_BIT = 2;
const UNESCAPE = 4;
const INVALID_BIT = 8;
const PASS = 0;
const ESCAPE = ESCAPE_BIT | SPECIAL;
const INVALID = INVALID_BIT | SPECIAL;

/** googleurl's kPathCharLookup (the IE-derived table), by byte. */
const pathCharLookup: Uint8Array = (() => {
  const table = new Uint8Array(256).fill(ESCAPE); // controls and every byte >= 0x80
  table[0] = INVALID;
  const set = (chars: string, flag: number) => {
    for (const c of chars) table[c.charCodeAt(0)] = flag;
  };
  set("!$&'()*+,/:;=@[]", PASS);
  set(' "#%<>?\\^`{|}\x7f', ESCAPE);
  set('-_~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', UNESCAPE);
  table['.'.charCodeAt(0)] = SPECIAL;
  return table;
})();

const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);
const isUrlSlash = (c: string | undefined) => c === '/' || c === '\\';

/** IsDot: 1 for `.`, 3 for `%2e` / `%2E`, else 0. */
function isDot(spec: string, i: number): number {
  if (spec[i] === '.') return 1;
  if (spec[i] === '%' && spec[i + 1] === '2' && (spec[i + 2] === 'e' || spec[i + 2] === 'E')) return 3;
  return 0;
}

type DotDisposition = { kind: 'notDirectory' } | { kind: 'current' | 'up'; consumed: number };

/** ClassifyAfterDot. */
function classifyAfterDot(spec: string, afterDot: number): DotDisposition {
  if (afterDot === spec.length) return { kind: 'current', consumed: 0 };
  if (isUrlSlash(spec[afterDot])) return { kind: 'current', consumed: 1 };
  const secondDot = isDot(spec, afterDot);
  if (secondDot > 0) {
    const after = afterDot + secondDot;
    if (after === spec.length) return { kind: 'up', consumed: secondDot };
    if (isUrlSlash(spec[after])) return { kind: 'up', consumed: secondDot + 1 };
  }
  return { kind: 'notDirectory' };
}

/** BackUpToPreviousSlash: the output ends with `/`; drop the last segment, never above the first slash. */
function backUpToPreviousSlash(out: string[]): void {
  let i = out.length - 1;
  if (i === 0) return;
  i--;
  while (out[i] !== '/' && i > 0) i--;
  out.length = i + 1;
}

const escaped = (byte: number) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * url::CanonicalizePath (DoPath + DoPartialPath) over a path without its query, as bytes in a latin1
 * string (each char one byte, as Envoy's header value). undefined when googleurl reports failure.
 */
export function canonicalizePathPart(spec: string): string | undefined {
  if (spec.length === 0) return '/';
  const out: string[] = [];
  if (!isUrlSlash(spec[0])) out.push('/');
  let success = true;
  for (let i = 0; i < spec.length; i++) {
    const ch = spec[i]!;
    const code = ch.charCodeAt(0) & 0xff;
    const flags = pathCharLookup[code]!;
    if (!(flags & SPECIAL)) {
      out.push(ch);
      continue;
    }
    const dotLen = isDot(spec, i);
    if (dotLen > 0) {
      if (out.length > 0 && out[out.length - 1] === '/') {
        const after = classifyAfterDot(spec, i + dotLen);
        if (after.kind === 'notDirectory') {
          out.push('.');
          i += dotLen - 1;
        } else {
          if (after.kind === 'up') backUpToPreviousSlash(out);
          i += dotLen + after.consumed - 1;
        }
      } else {
        out.push('.');
        i += dotLen - 1;
      }
    } else if (ch === '\\') {
      out.push('/');
    } else if (ch === '%') {
      if (i + 3 <= spec.length && isHex(spec[i + 1]) && isHex(spec[i + 2])) {
        const value = parseInt(spec.slice(i + 1, i + 3), 16);
        const decodedFlags = pathCharLookup[value]!;
        if (decodedFlags & UNESCAPE) out.push(String.fromCharCode(value));
        else {
          out.push(`%${spec[i + 1]!}${spec[i + 2]!}`);
          if (decodedFlags & INVALID_BIT) success = false;
        }
        i += 2;
      } else {
        out.push('%'); // a malformed escape passes through ("more permissive unlike IE7")
      }
    } else if (flags & INVALID_BIT) {
      out.push(escaped(code));
      success = false;
    } else if (flags & ESCAPE_BIT) {
      out.push(escaped(code));
    }
  }
  return success ? out.join('') : undefined;
}

function splitQuery(path: string): [string, string] {
  const q = path.indexOf('?');
  return q < 0 ? [path, ''] : [path.slice(0, q), path.slice(q)];
}

/** PathUtil::canonicalPath: the path before `?` canonicalised, the query kept; undefined: 400. */
export function canonicalPath(pathWithQuery: string): string | undefined {
  const [path, query] = splitQuery(pathWithQuery);
  const canonical = canonicalizePathPart(path);
  return canonical === undefined ? undefined : canonical + query;
}

/** PathUtil::mergeSlashes: runs of `/` before `?` become one, a leading and a trailing `/` kept. */
export function mergeSlashes(pathWithQuery: string): string {
  const [path, query] = splitQuery(pathWithQuery);
  if (!path.includes('//')) return pathWithQuery;
  const prefix = path.startsWith('/') ? '/' : '';
  const suffix = path.endsWith('/') ? '/' : '';
  return (
    prefix +
    path
      .split('/')
      .filter((s) => s !== '')
      .join('/') +
    suffix +
    query
  );
}

/** PathUtil::unescapeSlashes: %2F %2f -> `/`, %5C %5c -> `\` before `?`; found when the path got shorter. */
export function unescapeSlashes(pathWithQuery: string): { path: string; found: boolean } {
  const [path, query] = splitQuery(pathWithQuery);
  if (!path.includes('%')) return { path: pathWithQuery, found: false };
  const decoded = path.replaceAll('%2F', '/').replaceAll('%2f', '/').replaceAll('%5C', '\\').replaceAll('%5c', '\\');
  return { path: decoded + query, found: decoded.length !== path.length };
}

/**
 * ConnectionManagerUtility::maybeNormalizePath on a `:path` that starts with `/` (the HCM answers 404
 * before this otherwise): reject (400) on `#` or a failed canonicalisation or escaped slashes under
 * REJECT_REQUEST, redirect (307) to the result under UNESCAPE_AND_REDIRECT, else continue with it.
 */
export function maybeNormalizePath(pathWithQuery: string, config: PathNormalization): NormalizePathResult {
  if (pathWithQuery.includes('#')) return { action: 'reject' };
  let path = pathWithQuery;
  let redirect = false;
  if (config.escapedSlashes !== 'KEEP_UNCHANGED') {
    const unescaped = unescapeSlashes(path);
    path = unescaped.path;
    if (unescaped.found) {
      if (config.escapedSlashes === 'REJECT_REQUEST') return { action: 'reject' };
      redirect = config.escapedSlashes === 'UNESCAPE_AND_REDIRECT';
    }
  }
  if (config.normalizePath) {
    const canonical = canonicalPath(path);
    if (canonical === undefined) return { action: 'reject' };
    path = canonical;
  }
  if (config.mergeSlashes) path = mergeSlashes(path);
  return { action: redirect ? 'redirect' : 'continue', path };
}
