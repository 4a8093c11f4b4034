// RouteConfiguration -> RouteTableConfig: virtual hosts, route matches (prefix, path,
// path_separated_prefix, safe_regex; headers), route actions (cluster, timeout, prefix/regex rewrite)
// and the ext_proc per-route override. Regexes are RE2 (linear time), as in Envoy.
import { RE2JS } from 're2js';
import { ConfigRejectedError } from '../errors.ts';
import { boolValue, durationMs, unpackAny, type Decoded, type PackedAny } from '../xds/envoy-protos.ts';
import { extProcPerRouteTypeUrl, parseExtProcPerRoute } from './ext-proc.ts';
import type { HeaderMatcher, PathMatch, Route, RouteTableConfig, StringMatcher } from './model.ts';

/** Envoy's route timeout when the route sets none. */
const defaultRouteTimeoutMs = 15_000;

function compileRegex(m: Decoded | null | undefined, where: string): RE2JS {
  try {
    return RE2JS.compile(String((m?.regex as string | undefined) ?? ''));
  } catch (err) {
    throw new ConfigRejectedError(`${where}: invalid regex: ${(err as Error).message}`);
  }
}

function stringMatcher(m: Decoded, where: string): StringMatcher {
  const ignoreCase = Boolean(m.ignore_case);
  for (const kind of ['exact', 'prefix', 'suffix', 'contains'] as const) {
    if (m.match_pattern === kind) return { kind, value: String(m[kind]), ignoreCase };
  }
  if (m.match_pattern === 'safe_regex') return { kind: 'regex', regex: compileRegex(m.safe_regex as Decoded, where) };
  throw new ConfigRejectedError(`${where}: string matcher ${String(m.match_pattern)} is not supported`);
}

function headerMatcher(h: Decoded, where: string): HeaderMatcher {
  const at = `${where}.headers[${String(h.name)}]`;
  const base = { name: String(h.name).toLowerCase(), invert: Boolean(h.invert_match), present: true };
  switch (h.header_match_specifier) {
    case undefined:
    case null:
      return base;
    case 'present_match':
      return { ...base, present: Boolean(h.present_match) };
    case 'exact_match':
      return { ...base, matcher: { kind: 'exact', value: String(h.exact_match), ignoreCase: false } };
    case 'prefix_match':
      return { ...base, matcher: { kind: 'prefix', value: String(h.prefix_match), ignoreCase: false } };
    case 'suffix_match':
      return { ...base, matcher: { kind: 'suffix', value: String(h.suffix_match), ignoreCase: false } };
    case 'contains_match':
      return { ...base, matcher: { kind: 'contains', value: String(h.contains_match), ignoreCase: false } };
    case 'safe_regex_match':
      return { ...base, matcher: { kind: 'regex', regex: compileRegex(h.safe_regex_match as Decoded, at) } };
    case 'string_match':
      return { ...base, matcher: stringMatcher(h.string_match as Decoded, at) };
    default:
      throw new ConfigRejectedError(`${at}: ${String(h.header_match_specifier)} is not supported by devproxy`);
  }
}

function pathMatch(m: Decoded, where: string): PathMatch {
  switch (m.path_specifier) {
    case 'prefix':
      return { kind: 'prefix', value: String(m.prefix) };
    case 'path':
      return { kind: 'path', value: String(m.path) };
    case 'path_separated_prefix':
      return { kind: 'pathSeparatedPrefix', value: String(m.path_separated_prefix) };
    case 'safe_regex':
      return { kind: 'regex', regex: compileRegex(m.safe_regex as Decoded, where) };
    default:
      throw new ConfigRejectedError(`${where}: path match ${String(m.path_specifier)} is not supported by devproxy`);
  }
}

function perFilterConfig(r: Decoded, where: string): Route['extProcOverrides'] {
  const configs = (r.typed_per_filter_config ?? {}) as Record<string, PackedAny>;
  return new Map(
    Object.entries(configs).map(([filter, any]) => {
      if (any.type_url !== extProcPerRouteTypeUrl)
        throw new ConfigRejectedError(`${where}: typed_per_filter_config ${filter} (${any.type_url}) is not supported`);
      return [filter, parseExtProcPerRoute(unpackAny(any))];
    }),
  );
}

function parseRoute(r: Decoded, where: string): Route {
  const match = r.match as Decoded;
  const common = {
    name: String(r.name),
    path: pathMatch(match, where),
    caseSensitive: boolValue(match.case_sensitive, true),
    headers: (match.headers as Decoded[]).map((h) => headerMatcher(h, where)),
    extProcOverrides: perFilterConfig(r, where),
  };
  if (r.action === 'direct_response') {
    const d = r.direct_response as Decoded;
    const body = d.body as { inline_string?: string } | null;
    return {
      ...common,
      cluster: '',
      timeoutMs: 0,
      directResponse: { status: Number(d.status), body: String(body?.inline_string ?? '') },
    };
  }
  if (r.action !== 'route')
    throw new ConfigRejectedError(`${where}: route action ${String(r.action)} is not supported by devproxy`);
  const a = r.route as Decoded;
  if (a.cluster_specifier !== 'cluster')
    throw new ConfigRejectedError(`${where}: only route.cluster is supported by devproxy`);
  const rr = a.regex_rewrite as Decoded | null;
  const prefixRewrite = a.prefix_rewrite as string | undefined;
  return {
    ...common,
    cluster: String(a.cluster),
    timeoutMs: durationMs(a.timeout) ?? defaultRouteTimeoutMs,
    ...(prefixRewrite ? { prefixRewrite: String(prefixRewrite) } : {}),
    ...(rr
      ? {
          regexRewrite: {
            pattern: compileRegex(rr.pattern as Decoded, `${where}.regex_rewrite`),
            substitution: String(rr.substitution),
          },
        }
      : {}),
  };
}

export function parseRouteConfiguration(rc: Decoded): RouteTableConfig {
  const name = String(rc.name);
  return {
    name,
    virtualHosts: (rc.virtual_hosts as Decoded[]).map((vh) => ({
      name: String(vh.name),
      domains: (vh.domains as string[]).map((d) => d.toLowerCase()),
      routes: (vh.routes as Decoded[]).map((r, i) => parseRoute(r, `${name}/${String(vh.name)}/routes[${i}]`)),
    })),
  };
}
