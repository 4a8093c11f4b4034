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

/** Route options that change matching or forwarding and that devproxy does not play. */
const unplayedMatch = [
  'query_parameters',
  'grpc',
  'runtime_fraction',
  'dynamic_metadata',
  'tls_context',
  'filter_state',
];
const unplayedAction = [
  'host_rewrite_literal',
  'auto_host_rewrite',
  'host_rewrite_header',
  'host_rewrite_path_regex',
  'retry_policy',
  'request_mirror_policies',
  'hash_policy',
  'idle_timeout',
  'upgrade_configs',
  'max_stream_duration',
  'append_x_forwarded_host',
  'path_rewrite_policy',
  'cors',
];

function refuseSet(c: Decoded, fields: string[], where: string): void {
  for (const field of fields) {
    const v = c[field];
    const set = Array.isArray(v) ? v.length > 0 : v !== null && v !== undefined && v !== false && v !== '';
    if (set) throw new ConfigRejectedError(`${where}: ${field} is not supported by devproxy`);
  }
}

function parseRoute(r: Decoded, where: string): Route {
  refuseHeaderEdits(r, where);
  const match = r.match as Decoded;
  refuseSet(match, unplayedMatch, `${where}.match`);
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
  refuseSet(a, unplayedAction, `${where}.route`);
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

/** Header additions and removals at any level are not played: a config that has them is rejected. */
const headerEdits = [
  'request_headers_to_add',
  'request_headers_to_remove',
  'response_headers_to_add',
  'response_headers_to_remove',
];

function refuseHeaderEdits(c: Decoded, where: string): void {
  for (const field of headerEdits)
    if ((c[field] as unknown[] | undefined)?.length)
      throw new ConfigRejectedError(`${where}: ${field} is not supported by devproxy`);
}

export function parseRouteConfiguration(rc: Decoded): RouteTableConfig {
  const name = String(rc.name);
  refuseHeaderEdits(rc, name);
  return {
    name,
    internalOnlyHeaders: (rc.internal_only_headers as string[]).map((h) => h.toLowerCase()),
    virtualHosts: (rc.virtual_hosts as Decoded[]).map((vh) => {
      const where = `${name}/${String(vh.name)}`;
      refuseHeaderEdits(vh, where);
      if (Object.keys(vh.typed_per_filter_config ?? {}).length > 0)
        throw new ConfigRejectedError(`${where}: virtual host typed_per_filter_config is not supported by devproxy`);
      return {
        name: String(vh.name),
        domains: (vh.domains as string[]).map((d) => d.toLowerCase()),
        routes: (vh.routes as Decoded[]).map((r, i) => parseRoute(r, `${where}/routes[${i}]`)),
      };
    }),
  };
}
