// Envoy's path normalisation, pinned with the vectors of Envoy's own test/common/http/path_utility_test.cc
// and the HCM note's worked examples (normalize_path + merge_slashes as Gatehouse sets them).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalPath, maybeNormalizePath, mergeSlashes, unescapeSlashes, type PathNormalization } from './path.ts';

/** RFC 3986 5.2.4 remove_dot_segments, written from the RFC as the reference. */
function removeDotSegments(path: string): string {
  let input = path;
  let output = '';
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../') || input === '/..') {
      input = input === '/..' ? '/' : input.slice(3);
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', input.startsWith('/') ? 1 : 0);
      const segment = next < 0 ? input : input.slice(0, next);
      output += segment;
      input = input.slice(segment.length);
    }
  }
  return output;
}

describe('PathUtil::canonicalPath (googleurl url::CanonicalizePath)', () => {
  it.each([
    ['/a/b/../c', '/a/c'],
    ['/a/./b', '/a/b'],
    ['/../a', '/a'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/A/B/C', '/A/B/C'],
    ['/a/b/%2E%2E/c', '/a/c'],
    ['/a/b/%2e%2e/c', '/a/c'],
    ['/a/..\\c', '/c'],
    ['/%5c%25', '/%5c%25'],
    ['/%c0%af', '/%c0%af'],
    ['/a/%2F%2f/c', '/a/%2F%2f/c'],
    ['/xyz/..;foo=bar/abc', '/xyz/..;foo=bar/abc'],
    ['/a//b', '/a//b'],
    ['/a/../b?x=/../y//z', '/b?x=/../y//z'],
  ])('canonicalPath(%j) is %j', (input, expected) => {
    expect(canonicalPath(input)).toBe(expected);
  });

  it('canonicalPath_decodes_pct2E_dot_segments and escapes of unreserved characters', () => {
    expect(canonicalPath('/%2e%2e/x')).toBe('/x');
    expect(canonicalPath('/a/%2E/b')).toBe('/a/b');
    expect(canonicalPath('/%41%7e%5F')).toBe('/A~_');
  });

  it('canonicalPath_backslash_is_slash', () => {
    expect(canonicalPath('/a\\b')).toBe('/a/b');
  });

  it('canonicalPath_keeps_pct2F_case and every escape it does not decode, byte for byte', () => {
    expect(canonicalPath('/a%2fb%2Fc%3a%3A%zz%')).toBe('/a%2fb%2Fc%3a%3A%zz%');
  });

  it('canonicalPath_pct00_is_400: a NUL, escaped or raw, fails', () => {
    for (const path of ['/xyz/.%00../abc', '/xyz/%00.%00./abc', '/xyz/AAAAA%%0000/abc', '/a\u0000b'])
      expect(canonicalPath(path)).toBeUndefined();
  });

  it('escapes what must be escaped, upper-case hex', () => {
    expect(canonicalPath('/a b"<>`{|}^\u00e9')).toBe('/a%20b%22%3C%3E%60%7B%7C%7D%5E%E9');
  });

  it('canonicalPath_dotdot_semicolon_is_plain_segment_1_36_2', () => {
    expect(canonicalPath('/a/..;/b')).toBe('/a/..;/b');
  });

  it('agrees with RFC 3986 remove_dot_segments on paths without escapes', () => {
    const segment = fc.oneof(
      fc.constantFrom('.', '..', '', '...', '.a', 'a.', '..a'),
      fc.stringMatching(/^[a-zA-Z0-9_~!$&'()*+,;=:@-]{1,4}$/),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), (segments) => {
        const path = `/${segments.join('/')}`;
        expect(canonicalPath(path)).toBe(removeDotSegments(path));
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * RFC 3986 6.2.2.2 percent-encoding normalisation: an escape of an unreserved character (ALPHA, DIGIT,
 * "-", ".", "_", "~") is decoded; every other escape stays as sent.
 */
const decodeUnreserved = (path: string) =>
  path.replace(/%([0-9a-fA-F]{2})/g, (escape, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(c) ? c : escape;
  });

/**
 * What merge_slashes does, from its definition: every run of "/" becomes one. Except, as Envoy writes
 * it (PathUtil::mergeSlashes keeps a leading and a trailing "/" around the joined segments), a path
 * made only of two or more slashes, which becomes "//".
 */
const collapseSlashes = (path: string) => (/^\/{2,}$/.test(path) ? '//' : path.replace(/\/{2,}/g, '/'));

describe('the normaliser against RFC 3986 5.2.4 remove_dot_segments on random paths', () => {
  // Segments from an alphabet built to trip normalisers: dots, escaped dots in either case, empty
  // segments, `;` parameters (also on dot segments), escaped slashes and backslashes, escaped
  // unreserved letters, a lone or malformed `%`, and case variants.
  const segment = fc.constantFrom(
    '',
    '.',
    '..',
    '...',
    '%2e',
    '%2E',
    '%2e%2e',
    '.%2e',
    '%2E.',
    '..;',
    '..;x=1',
    '.;x',
    ';x=1',
    'a;b=c',
    'a',
    'B',
    'Ab',
    '%41',
    '%7e',
    'a.',
    '.a',
    '%2f',
    '%2F',
    '%5c',
    '%5C',
    '%25',
    '%252e',
    '%',
    '%zz',
    'api',
    'API',
  );
  const path = fc.array(segment, { maxLength: 10 }).map((s) => `/${s.join('/')}`);
  const query = fc.constantFrom('', '?q=/../a//b', '?x=%2e%2e');

  /**
   * Where Envoy 1.36.2 (normalize_path) and remove_dot_segments legitimately differ, and how the
   * reference side is brought level, nothing else:
   * - escapes of unreserved characters: googleurl decodes them (%2e is a dot, so %2e%2e is ".."), which
   *   is RFC 3986 6.2.2.2 normalisation done before remove_dot_segments: the reference decodes first;
   * - a backslash is a slash to googleurl: not in the alphabet (pinned by canonicalPath_backslash_is_slash);
   * - characters that must be escaped (space, quotes, bytes >= 0x80) are escaped by googleurl: not in
   *   the alphabet (pinned by "escapes what must be escaped");
   * - %00 fails (400): not in the alphabet (pinned by canonicalPath_pct00_is_400).
   * `;` is not special to either (Envoy before 1.36.10): `..;x=1` is an ordinary segment in both.
   */
  it('canonicalPath equals remove_dot_segments after RFC 3986 6.2.2.2 decoding; the query is untouched', () => {
    fc.assert(
      fc.property(path, query, (p, q) => {
        expect(canonicalPath(p + q)).toBe(removeDotSegments(decodeUnreserved(p)) + q);
      }),
      { numRuns: 5000 },
    );
  });

  /**
   * Gatehouse's HCM (normalize_path, merge_slashes, path_with_escaped_slashes_action REJECT_REQUEST).
   * Beyond the differences above: an escaped slash or backslash anywhere before `?` is a 400, and
   * merge_slashes (not in RFC 3986, which keeps empty segments) collapses runs of "/" after the dot
   * segments are gone, so `/a//../b` is `/a/b` (".." removes the empty segment first), and a path of
   * slashes only is `//`.
   */
  it('maybeNormalizePath as Gatehouse compiles it: 400 for an escaped slash, else remove_dot_segments then merged slashes', () => {
    const config: PathNormalization = { normalizePath: true, mergeSlashes: true, escapedSlashes: 'REJECT_REQUEST' };
    fc.assert(
      fc.property(path, query, (p, q) => {
        const result = maybeNormalizePath(p + q, config);
        if (/%(2f|5c)/i.test(p)) expect(result).toEqual({ action: 'reject' });
        else
          expect(result).toEqual({
            action: 'continue',
            path: collapseSlashes(removeDotSegments(decodeUnreserved(p))) + q,
          });
      }),
      { numRuns: 5000 },
    );
  });
});

describe('PathUtil::mergeSlashes', () => {
  it.each([
    ['/a//b?a=///c', '/a/b?a=///c'],
    ['//a/?b', '/a/?b'],
    ['/a/b/c//', '/a/b/c/'],
    ['/a/b', '/a/b'],
    ['//', '//'],
  ])('mergeSlashes(%j) is %j', (input, expected) => {
    expect(mergeSlashes(input)).toBe(expected);
  });
});

describe('PathUtil::unescapeSlashes', () => {
  it.each([
    ['/%2f%2F', '///', true],
    ['/%%2fa/', '/%/a/', true],
    ['/%2fa%5Cb%2fc%5c?%2fabcd%5C%%2f%', '//a\\b/c\\?%2fabcd%5C%%2f%', true],
    ['/a%2Gb', '/a%2Gb', false],
  ])('unescapeSlashes(%j) is %j', (input, path, found) => {
    expect(unescapeSlashes(input)).toEqual({ path, found });
  });
});

describe('ConnectionManagerUtility::maybeNormalizePath', () => {
  const gatehouse: PathNormalization = { normalizePath: true, mergeSlashes: true, escapedSlashes: 'KEEP_UNCHANGED' };
  const run = (path: string, o: Partial<PathNormalization> = {}) => maybeNormalizePath(path, { ...gatehouse, ...o });

  it('merge_slashes runs after canonicalisation', () => {
    expect(run('/a//../b')).toEqual({ action: 'continue', path: '/a/b' });
    expect(run('//x')).toEqual({ action: 'continue', path: '/x' });
    expect(run('/a//../b', { normalizePath: false })).toEqual({ action: 'continue', path: '/a/../b' });
    expect(run('/a//../b', { mergeSlashes: false })).toEqual({ action: 'continue', path: '/a/b' });
  });

  it('maybeNormalizePath_fragment_is_400, whatever the settings, also in the query', () => {
    expect(run('/p#frag')).toEqual({ action: 'reject' });
    expect(run('/p?q=#x', { normalizePath: false, mergeSlashes: false })).toEqual({ action: 'reject' });
  });

  it('rejects %00 only when normalize_path is on', () => {
    expect(run('/a%00b')).toEqual({ action: 'reject' });
    expect(run('/a%00b', { normalizePath: false })).toEqual({ action: 'continue', path: '/a%00b' });
  });

  it('path_with_escaped_slashes_action: keep, reject, redirect to the final path, forward unescaped', () => {
    expect(run('/a%2fb')).toEqual({ action: 'continue', path: '/a%2fb' });
    expect(run('/a%2fb', { escapedSlashes: 'REJECT_REQUEST' })).toEqual({ action: 'reject' });
    expect(run('/a%2fb?x=%2f', { escapedSlashes: 'UNESCAPE_AND_REDIRECT' })).toEqual({
      action: 'redirect',
      path: '/a/b?x=%2f',
    });
    expect(run('/a/b/..%2fc', { escapedSlashes: 'UNESCAPE_AND_FORWARD' })).toEqual({
      action: 'continue',
      path: '/a/c',
    });
    expect(run('/a%5Cb', { escapedSlashes: 'UNESCAPE_AND_FORWARD' })).toEqual({ action: 'continue', path: '/a/b' });
    expect(run('/a/b', { escapedSlashes: 'REJECT_REQUEST' })).toEqual({ action: 'continue', path: '/a/b' });
  });
});
