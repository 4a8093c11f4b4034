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
