import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import type { Route, RouteTableConfig } from '../config/model.ts';
import { matchRoute, rewritePath, selectVirtualHost } from './route-table.ts';

const route = (name: string, over: Partial<Route> = {}): Route => ({
  name,
  path: { kind: 'prefix', value: '/' },
  caseSensitive: true,
  headers: [],
  cluster: name,
  timeoutMs: 1000,
  extProcOverrides: new Map(),
  ...over,
});

const table = (hosts: Array<[string, string[]]>): RouteTableConfig => ({
  name: 't',
  internalOnlyHeaders: [],
  virtualHosts: hosts.map(([name, domains]) => ({ name, domains, routes: [route(name)] })),
});

describe('virtual host selection', () => {
  const t = table([
    ['any', ['*']],
    ['exact', ['api.example.com']],
    ['suffix', ['*.example.com']],
    ['longer-suffix', ['*.eu.example.com']],
    ['prefix', ['api.*']],
  ]);
  it.each([
    ['api.example.com', 'exact'],
    ['API.Example.com', 'exact'],
    ['x.example.com', 'suffix'],
    ['x.eu.example.com', 'longer-suffix'],
    ['api.other.org', 'prefix'],
    ['other.org', 'any'],
  ])('%s -> %s', (host, want) => {
    expect(selectVirtualHost(t, host)?.name).toBe(want);
  });
  it('no match without a "*" host', () => {
    expect(selectVirtualHost(table([['exact', ['a.b']]]), 'c.d')).toBeUndefined();
  });
});

describe('route matching', () => {
  const t: RouteTableConfig = {
    name: 't',
    internalOnlyHeaders: [],
    virtualHosts: [
      {
        name: 'v',
        domains: ['*'],
        routes: [
          route('exact', { path: { kind: 'path', value: '/health' } }),
          route('regex', { path: { kind: 'regex', regex: RE2JS.compile('/items/[0-9]+') } }),
          route('separated', { path: { kind: 'pathSeparatedPrefix', value: '/orders' } }),
          route('header', {
            path: { kind: 'prefix', value: '/hdr' },
            headers: [
              {
                name: 'x-version',
                present: true,
                invert: false,
                matcher: { kind: 'exact', value: 'v2', ignoreCase: false },
              },
            ],
          }),
          route('absent', {
            path: { kind: 'prefix', value: '/hdr' },
            headers: [{ name: 'x-beta', present: false, invert: false }],
          }),
          route('insensitive', { path: { kind: 'prefix', value: '/CI' }, caseSensitive: false }),
        ],
      },
    ],
  };
  const m = (path: string, headers: Array<[string, string]> = []) =>
    matchRoute(t, { authority: 'h', path, headers })?.name;

  it('matches path, regex (whole path), path-separated prefix, headers and case', () => {
    expect(m('/health')).toBe('exact');
    expect(m('/health/x')).toBeUndefined();
    expect(m('/items/42')).toBe('regex');
    expect(m('/items/42x')).toBeUndefined();
    expect(m('/orders')).toBe('separated');
    expect(m('/orders/1')).toBe('separated');
    expect(m('/ordersx')).toBeUndefined();
    expect(m('/hdr', [['x-version', 'v2']])).toBe('header');
    expect(m('/hdr', [['x-version', 'v1']])).toBe('absent');
    expect(m('/hdr', [['x-beta', '1']])).toBeUndefined();
    expect(m('/ci/x')).toBe('insensitive');
  });
});

describe('rewrites', () => {
  it('applies prefix_rewrite and regex_rewrite (\\1 substitutions), keeping the query', () => {
    expect(
      rewritePath(route('p', { path: { kind: 'prefix', value: '/api' }, prefixRewrite: '/v1' }), '/api/x?q=1'),
    ).toBe('/v1/x?q=1');
    const rr = route('r', {
      regexRewrite: { pattern: RE2JS.compile('^/orders/v1(/.*)?$'), substitution: '/backend\\1' },
    });
    expect(rewritePath(rr, '/orders/v1/a?b=$c')).toBe('/backend/a?b=$c');
    expect(rewritePath(rr, '/orders/v1')).toBe('/backend');
  });
});
