// What devproxy runs on, translated from the xDS resources: the subset of Envoy's Listener,
// RouteConfiguration, Cluster and ClusterLoadAssignment that Gatehouse emits, already validated, so
// that the data path never meets a malformed resource.
import type { RE2JS } from 're2js';
import type { ProcessingMode } from '../ext-proc/exchange.ts';
import type { HeaderList } from '../http/message.ts';
import type { DownstreamTlsConfig, UpstreamTlsConfig } from './tls.ts';

export type { DownstreamTlsConfig, HeaderList, UpstreamTlsConfig };

/** envoy.config.common.mutation_rules.v3.HeaderMutationRules. */
export interface MutationRules {
  allowAllRouting: boolean;
  allowEnvoy: boolean;
  disallowSystem: boolean;
  disallowAll: boolean;
  disallowIsError: boolean;
  allowExpression?: RE2JS;
  disallowExpression?: RE2JS;
}

/** The listener-level envoy.filters.http.ext_proc config. */
export interface ExtProcFilterConfig {
  filterName: string;
  clusterName: string;
  initialMetadata: HeaderList;
  failureModeAllow: boolean;
  messageTimeoutMs: number;
  processingMode: ProcessingMode;
  requestAttributes: string[];
  mutationRules: MutationRules;
}

/** ExtProcPerRoute: disabled, or overrides merged over the listener's config. */
export interface ExtProcRouteOverride {
  disabled: boolean;
  processingMode?: ProcessingMode;
  initialMetadata: HeaderList;
  clusterName?: string;
  /** Replaces the listener's request_attributes when given. */
  requestAttributes?: string[];
}

export interface ListenerConfig {
  name: string;
  host: string;
  port: number;
  /** The RouteConfiguration the HttpConnectionManager reads over RDS. */
  routeConfigName: string;
  extProc?: ExtProcFilterConfig;
  normalizePath: boolean;
  mergeSlashes: boolean;
  /** The filter chain's DownstreamTlsContext: HTTPS (and mTLS) instead of plain text. */
  tls?: DownstreamTlsConfig;
}

export type StringMatcher =
  | { kind: 'exact' | 'prefix' | 'suffix' | 'contains'; value: string; ignoreCase: boolean }
  | { kind: 'regex'; regex: RE2JS };

export interface HeaderMatcher {
  name: string;
  /** undefined: present_match. */
  matcher?: StringMatcher;
  present: boolean;
  invert: boolean;
}

export type PathMatch =
  { kind: 'prefix' | 'path' | 'pathSeparatedPrefix'; value: string } | { kind: 'regex'; regex: RE2JS };

export interface Route {
  name: string;
  path: PathMatch;
  caseSensitive: boolean;
  headers: HeaderMatcher[];
  cluster: string;
  /** 0 disables the timeout, as in Envoy. */
  timeoutMs: number;
  prefixRewrite?: string;
  regexRewrite?: { pattern: RE2JS; substitution: string };
  /** typed_per_filter_config ExtProcPerRoute entries, by the HTTP filter name they configure. */
  extProcOverrides: Map<string, ExtProcRouteOverride>;
  /** Local reply instead of forwarding (direct_response). */
  directResponse?: { status: number; body: string };
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
}

export interface RouteTableConfig {
  name: string;
  virtualHosts: VirtualHost[];
}

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM';

export interface Endpoint {
  host: string;
  port: number;
  healthy: boolean;
}

export interface ClusterConfig {
  name: string;
  discovery: 'STATIC' | 'STRICT_DNS' | 'EDS';
  /** EDS: the ClusterLoadAssignment name to subscribe to. */
  edsServiceName: string;
  lbPolicy: LbPolicy;
  /** STRICT_DNS: dns_lookup_family. */
  dnsFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  connectTimeoutMs: number;
  tls?: UpstreamTlsConfig;
  /** STATIC / STRICT_DNS: the cluster's own load_assignment. */
  endpoints: Endpoint[];
}
