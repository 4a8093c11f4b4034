// Route selection as Envoy's router does it: one virtual host per request by :authority (exact, then
// the longest suffix wildcard, then the longest prefix wildcard, then "*"), the first route of it whose
// path and header matchers all match, and the path rewrite the route asks for.
import type {
  HeaderList,
  HeaderMatcher,
  Route,
  RouteTableConfig,
  StringMatcher,
  VirtualHost,
} from '../config/model.ts';

function bestWildcard(hosts: VirtualHost[], authority: string, kind: 'suffix' | 'prefix'): VirtualHost | undefined {
  let best: VirtualHost | undefined;
  let bestLength = -1;
  for (const vh of hosts) {
    for (const d of vh.domains) {
      if (d === '*' || d.length <= bestLength) continue;
      const matches =
        kind === 'suffix'
          ? d.startsWith('*') && authority.endsWith(d.slice(1)) && authority.length > d.length - 1
          : d.endsWith('*') && authority.startsWith(d.slice(0, -1)) && authority.length > d.length - 1;
      if (matches) {
        best = vh;
        bestLength = d.length;
      }
    }
  }
  return best;
}

export function selectVirtualHost(table: RouteTableConfig, authority: string): VirtualHost | undefined {
  const host = authority.toLowerCase();
  const hosts = table.virtualHosts;
  return (
    hosts.find((vh) => vh.domains.includes(host)) ??
    bestWildcard(hosts, host, 'suffix') ??
    bestWildcard(hosts, host, 'prefix') ??
    hosts.find((vh) => vh.domains.includes('*'))
  );
}

function stringMatches(m: StringMatcher, value: string): boolean {
  if (m.kind === 'regex') return m.regex.matches(value);
  const v = m.ignoreCase ? value.toLowerCase() : value;
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  switch (m.kind) {
    case 'exact':
      return v === want;
    case 'prefix':
      return v.startsWith(want);
    case 'suffix':
      return v.endsWith(want);
    case 'contains':
      return v.includes(want);
  }
}

function headerMatches(m: HeaderMatcher, headers: HeaderList): boolean {
  const values = headers.filter(([n]) => n === m.name).map(([, v]) => v);
  // Several values of one header are matched joined with ",", as Envoy does.
  const result = values.length === 0 ? !m.present : m.matcher ? stringMatches(m.matcher, values.join(',')) : m.present;
  return m.invert ? !result : result;
}

function pathMatches(route: Route, path: string): boolean {
  const p = route.path;
  if (p.kind === 'regex') return p.regex.matches(path);
  const actual = route.caseSensitive ? path : path.toLowerCase();
  const want = route.caseSensitive ? p.value : p.value.toLowerCase();
  switch (p.kind) {
    case 'prefix':
      return actual.startsWith(want);
    case 'path':
      return actual === want;
    case 'pathSeparatedPrefix':
      return actual === want || actual.startsWith(want.endsWith('/') ? want : `${want}/`);
  }
}

export interface RouteRequest {
  authority: string;
  /** Path without the query string. */
  path: string;
  headers: HeaderList;
}

export function matchRoute(table: RouteTableConfig, req: RouteRequest): Route | undefined {
  const vh = selectVirtualHost(table, req.authority);
  return vh?.routes.find((r) => pathMatches(r, req.path) && r.headers.every((h) => headerMatches(h, req.headers)));
}

/** Envoy writes regex substitutions with \1; RE2JS replacements use $1 (and $$ for a dollar). */
const toRe2Replacement = (s: string) => s.replaceAll('$', '$$$$').replace(/\\(\d)/g, '$$$1');

/** Whether the route rewrites the path (then Envoy records x-envoy-original-path, even when the result is the same). */
export function hasRewrite(route: Route): boolean {
  return route.regexRewrite !== undefined || (route.prefixRewrite !== undefined && route.path.kind !== 'regex');
}

/** The path (with its query string) the upstream gets after the route's prefix or regex rewrite. */
export function rewritePath(route: Route, pathWithQuery: string): string {
  const q = pathWithQuery.indexOf('?');
  const path = q < 0 ? pathWithQuery : pathWithQuery.slice(0, q);
  const query = q < 0 ? '' : pathWithQuery.slice(q);
  if (route.regexRewrite) {
    return (
      route.regexRewrite.pattern.matcher(path).replaceAll(toRe2Replacement(route.regexRewrite.substitution)) + query
    );
  }
  if (route.prefixRewrite !== undefined && route.path.kind !== 'regex' && route.path.kind !== 'path') {
    return route.prefixRewrite + path.slice(route.path.value.length) + query;
  }
  if (route.prefixRewrite !== undefined && route.path.kind === 'path') return route.prefixRewrite + query;
  return pathWithQuery;
}
