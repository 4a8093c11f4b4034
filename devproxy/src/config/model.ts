// What devproxy runs on, translated from the xDS resources: the subset of Envoy's Listener,
// RouteConfiguration, Cluster and ClusterLoadAssignment that Gatehouse emits, already validated, so
// that the data path never meets a malformed resource.
import type { RE2JS } from 're2js';
import type { PathNormalization } from '../../../lib/http/path.ts';
import type { JsonAccessLogFormat } from '../access-log/format.ts';
import type { ProcessingMode, RouteCacheAction } from '../ext-proc/exchange.ts';
import type { MutationRules } from '../ext-proc/mutation-rules.ts';
import type { HeaderList } from '../http/message.ts';
import type { DownstreamTlsConfig, UpstreamTlsConfig } from './tls.ts';
import type { TracingConfig } from './tracing.ts';

export type { DownstreamTlsConfig, HeaderList, MutationRules, UpstreamTlsConfig };

/** The listener-level envoy.filters.http.ext_proc config (ExternalProcessor). */
export interface ExtProcFilterConfig {
  filterName: string;
  clusterName: string;
  initialMetadata: HeaderList;
  failureModeAllow: boolean;
  messageTimeoutMs: number;
  /** max_message_timeout: 0 ignores every override_message_timeout. */
  maxMessageTimeoutMs: number;
  processingMode: Required<ProcessingMode>;
  requestAttributes: string[];
  responseAttributes: string[];
  mutationRules: MutationRules;
  allowModeOverride: boolean;
  routeCacheAction: RouteCacheAction;
  disableImmediateResponse: boolean;
  /** metadata_options.receiving_namespaces.untyped: the dynamic metadata namespaces replies may set. */
  receivingNamespaces: string[];
}

/**
 * ExtProcPerRoute: disabled, or overrides that replace the listener's processing mode and service
 * and merge into its gRPC initial metadata. Per-route request/response attributes and async_mode are
 * not implemented by Envoy either, so they are accepted and ignored.
 */
export interface ExtProcRouteOverride {
  disabled: boolean;
  processingMode?: Required<ProcessingMode>;
  /** grpc_initial_metadata, merged over the service's initial_metadata (same key replaced). */
  initialMetadata: HeaderList;
  /** grpc_service: replaces the listener's service, its initial_metadata included. */
  service?: { clusterName: string; initialMetadata: HeaderList };
}

/** A CIDR range of internal_address_config. */
export interface CidrRange {
  address: string;
  prefixLength: number;
}

/** The HttpConnectionManager fields devproxy plays (config/listeners.ts rejects the ones it does not). */
export interface HcmConfig {
  codec: 'AUTO' | 'HTTP1' | 'HTTP2';
  path: PathNormalization;
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  skipXffAppend: boolean;
  /** internal_address_config: undefined when unset (no address is internal); empty cidrs: RFC 1918 and loopback. */
  internalAddresses?: { cidrs: CidrRange[] };
  generateRequestId: boolean;
  preserveExternalRequestId: boolean;
  alwaysSetRequestIdInResponse: boolean;
  serverName: string;
  serverHeaderTransformation: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  stripTrailingHostDot: boolean;
  stripPort: 'none' | 'any' | 'matching';
  headersWithUnderscores: 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';
  maxRequestHeadersKb: number;
  maxHeadersCount: number;
  /** http2_protocol_options.initial_stream_window_size: an HTTP/2 stream's buffer limit. */
  http2StreamWindowBytes: number;
  /** request_headers_timeout (0: none), enforced on HTTP/1.1 connections. */
  requestHeadersTimeoutMs: number;
  /** stream_idle_timeout (default 5 min, 0: none): a stream with no downstream or upstream activity this long ends. */
  streamIdleTimeoutMs: number;
  /** common_http_protocol_options.idle_timeout (default 1 h, 0: none): a connection without streams this long is drained and closed. */
  idleTimeoutMs: number;
  /** drain_timeout (default 5 s): from the drain's start (idle timeout) to the close. */
  drainTimeoutMs: number;
  acceptHttp10: boolean;
  /** The router's suppress_envoy_headers. */
  suppressEnvoyHeaders: boolean;
  /** access_log: the JSON lines written to stdout per request. */
  accessLogs: JsonAccessLogFormat[];
  /** tracing: a span per request to an OpenTelemetry collector. */
  tracing?: TracingConfig;
}

export interface ListenerConfig {
  name: string;
  host: string;
  port: number;
  /** The RouteConfiguration the HttpConnectionManager reads over RDS. */
  routeConfigName: string;
  extProc?: ExtProcFilterConfig;
  hcm: HcmConfig;
  /** per_connection_buffer_limit_bytes: an HTTP/1 stream's buffer limit (Envoy's default 1 MiB). */
  bufferLimitBytes: number;
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
  /** internal_only_headers: removed from every request that is not internal. */
  internalOnlyHeaders: string[];
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
  /**
   * HttpProtocolOptions common_http_protocol_options.max_connection_duration: played for gRPC
   * (ext_proc) clusters, whose connections are retired at this age (filters/ext-proc-filter.ts).
   */
  maxConnectionDurationMs?: number;
}
