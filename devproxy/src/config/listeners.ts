// Listener -> ListenerConfig: one filter chain (plain text, or TLS from its DownstreamTlsContext)
// holding an HttpConnectionManager over RDS whose HTTP filters are ext_proc (optional) and the router
// (last), which is what Gatehouse emits. The HCM fields devproxy plays are read with Envoy's defaults;
// a field that would change what Envoy does and that devproxy does not play is rejected (NACK).
import { ConfigRejectedError } from '../errors.ts';
import { boolValue, durationMs, str, unpackAny, type Decoded, type PackedAny } from '../xds/envoy-protos.ts';
import { parseAccessLogs } from './access-log.ts';
import { extProcTypeUrl, parseExtProcFilter } from './ext-proc.ts';
import { parseTracing, type TracingConfig } from './tracing.ts';

const withTracing = (tracing: TracingConfig | undefined) => (tracing ? { tracing } : {});
import type { CidrRange, ExtProcFilterConfig, HcmConfig, ListenerConfig } from './model.ts';
import { parseDownstreamTls } from './tls.ts';

const hcmTypeUrl =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const routerTypeUrl = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/** Envoy's per_connection_buffer_limit_bytes default. */
const defaultBufferLimitBytes = 1024 * 1024;
/** http2_protocol_options.initial_stream_window_size default since 1.36.0 (was 256 MiB). */
const defaultHttp2StreamWindowBytes = 16 * 1024 * 1024;

/** A field set to anything but its default. */
function isSet(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  // A zero Duration (request_timeout: 0s, max_stream_duration: 0s) is the default: disabled.
  if (typeof v === 'object' && v !== null && 'seconds' in v && 'nanos' in v) return durationMs(v) !== 0;
  return v !== null && v !== undefined && v !== false && v !== 0 && v !== '' && v !== '0';
}

function refuse(c: Decoded, fields: string[], where: string): void {
  for (const field of fields)
    if (isSet(c[field])) throw new ConfigRejectedError(`${where}: ${field} is not supported by devproxy`);
}

const uint32Value = (v: unknown, fallback: number) =>
  v === null || v === undefined ? fallback : Number((v as { value?: number }).value ?? 0);

function httpFilters(
  filters: Decoded[],
  where: string,
): { extProc?: ExtProcFilterConfig; suppressEnvoyHeaders: boolean } {
  const last = filters.at(-1);
  if (!last || (last.typed_config as PackedAny | null)?.type_url !== routerTypeUrl) {
    throw new ConfigRejectedError(`${where}: the last HTTP filter must be envoy.filters.http.router`);
  }
  const router = unpackAny(last.typed_config as PackedAny);
  refuse(router, ['strict_check_headers', 'respect_expected_rq_timeout', 'upstream_http_filters'], `${where}: router`);
  let extProc: ExtProcFilterConfig | undefined;
  for (const f of filters.slice(0, -1)) {
    const any = f.typed_config as PackedAny | null;
    if (any?.type_url !== extProcTypeUrl)
      throw new ConfigRejectedError(
        `${where}: HTTP filter ${String(f.name)} (${any?.type_url ?? 'no typed_config'}) is not supported by devproxy`,
      );
    if (extProc) throw new ConfigRejectedError(`${where}: more than one ext_proc filter`);
    extProc = parseExtProcFilter(String(f.name), unpackAny(any));
  }
  return { ...(extProc ? { extProc } : {}), suppressEnvoyHeaders: Boolean(router.suppress_envoy_headers) };
}

function cidrRanges(config: Decoded | null): HcmConfig['internalAddresses'] {
  if (!config) return undefined;
  if (config.unix_sockets)
    throw new ConfigRejectedError('internal_address_config.unix_sockets: devproxy listens on IP sockets only');
  const cidrs = (config.cidr_ranges as Decoded[]).map((c): CidrRange => ({
    address: String(c.address_prefix),
    prefixLength: uint32Value(c.prefix_len, 0),
  }));
  return { cidrs };
}

function parseHcm(hcm: Decoded, where: string, suppressEnvoyHeaders: boolean): HcmConfig {
  refuse(
    hcm,
    [
      'route_config',
      'scoped_routes',
      'add_user_agent',
      'http3_protocol_options',
      'scheme_header_transformation',
      'request_timeout',
      'original_ip_detection_extensions',
      'early_header_mutation_extensions',
      'set_current_client_cert_details',
      'represent_ipv4_remote_address_as_ipv4_mapped_ipv6',
      'upgrade_configs',
      'request_id_extension',
      'local_reply_config',
      'path_normalization_options',
      'via',
      'proxy_100_continue',
      'strip_matching_host_port',
    ],
    where,
  );
  if (hcm.forward_client_cert_details !== 'SANITIZE')
    throw new ConfigRejectedError(
      `${where}: forward_client_cert_details ${String(hcm.forward_client_cert_details)} is not supported by devproxy`,
    );
  const codec = String(hcm.codec_type);
  if (codec !== 'AUTO' && codec !== 'HTTP1' && codec !== 'HTTP2')
    throw new ConfigRejectedError(`${where}: codec_type ${codec} is not supported by devproxy`);
  const common = (hcm.common_http_protocol_options ?? {}) as Decoded;
  refuse(
    common,
    ['max_connection_duration', 'max_stream_duration', 'max_requests_per_connection'],
    `${where}: common_http_protocol_options`,
  );
  const http1 = (hcm.http_protocol_options ?? {}) as Decoded;
  const http2 = (hcm.http2_protocol_options ?? {}) as Decoded;
  const escaped = String(hcm.path_with_escaped_slashes_action);
  const underscores = str(common.headers_with_underscores_action) || 'ALLOW';
  const transformation = String(hcm.server_header_transformation);
  if (transformation !== 'OVERWRITE' && transformation !== 'APPEND_IF_ABSENT' && transformation !== 'PASS_THROUGH')
    throw new ConfigRejectedError(`${where}: server_header_transformation ${transformation} is unknown`);
  if (underscores !== 'ALLOW' && underscores !== 'REJECT_REQUEST' && underscores !== 'DROP_HEADER')
    throw new ConfigRejectedError(`${where}: headers_with_underscores_action ${underscores} is unknown`);
  return {
    codec,
    path: {
      // Unset normalize_path falls back to the runtime key http_connection_manager.normalize_path, false by default.
      normalizePath: boolValue(hcm.normalize_path, false),
      mergeSlashes: Boolean(hcm.merge_slashes),
      // IMPLEMENTATION_SPECIFIC_DEFAULT reads runtime http_connection_manager.path_with_escaped_slashes_action: 0, KEEP_UNCHANGED.
      escapedSlashes:
        escaped === 'REJECT_REQUEST' || escaped === 'UNESCAPE_AND_REDIRECT' || escaped === 'UNESCAPE_AND_FORWARD'
          ? escaped
          : 'KEEP_UNCHANGED',
    },
    useRemoteAddress: boolValue(hcm.use_remote_address, false),
    xffNumTrustedHops: Number(hcm.xff_num_trusted_hops ?? 0),
    skipXffAppend: Boolean(hcm.skip_xff_append),
    ...(hcm.internal_address_config ? { internalAddresses: cidrRanges(hcm.internal_address_config as Decoded) } : {}),
    generateRequestId: boolValue(hcm.generate_request_id, true),
    preserveExternalRequestId: Boolean(hcm.preserve_external_request_id),
    alwaysSetRequestIdInResponse: Boolean(hcm.always_set_request_id_in_response),
    serverName: hcm.server_name ? str(hcm.server_name) : 'envoy',
    serverHeaderTransformation: transformation,
    stripTrailingHostDot: Boolean(hcm.strip_trailing_host_dot),
    stripPort: hcm.strip_any_host_port ? 'any' : 'none',
    headersWithUnderscores: underscores,
    maxRequestHeadersKb: uint32Value(hcm.max_request_headers_kb, 60),
    maxHeadersCount: uint32Value(common.max_headers_count, 100),
    http2StreamWindowBytes: uint32Value(http2.initial_stream_window_size, defaultHttp2StreamWindowBytes),
    requestHeadersTimeoutMs: durationMs(hcm.request_headers_timeout) ?? 0,
    // HCM proto defaults: "If not specified, this defaults to 5 minutes" / "to 1 hour" / 5000 ms.
    streamIdleTimeoutMs: durationMs(hcm.stream_idle_timeout) ?? 300_000,
    idleTimeoutMs: durationMs(common.idle_timeout) ?? 3_600_000,
    drainTimeoutMs: durationMs(hcm.drain_timeout) ?? 5000,
    acceptHttp10: Boolean(http1.accept_http_10),
    suppressEnvoyHeaders,
    accessLogs: parseAccessLogs(hcm.access_log as Decoded[] | undefined, where),
    ...(hcm.tracing ? withTracing(parseTracing(hcm.tracing as Decoded, where)) : {}),
  };
}

export function parseListener(l: Decoded): ListenerConfig {
  const name = String(l.name);
  const where = `listener ${name}`;
  const socket = (l.address as Decoded | null)?.socket_address as Decoded | null;
  if (!socket) throw new ConfigRejectedError(`${where}: address.socket_address is required`);
  const chains = l.filter_chains as Decoded[];
  const chain = chains[0];
  if (!chain || chains.length !== 1)
    throw new ConfigRejectedError(`${where}: devproxy supports exactly one filter chain, found ${chains.length}`);
  const socketConfig = chain.transport_socket as Decoded | null;
  if (socketConfig && socketConfig.name !== 'envoy.transport_sockets.tls')
    throw new ConfigRejectedError(
      `${where}: transport socket ${String(socketConfig.name)} is not supported by devproxy`,
    );
  const filters = chain.filters as Decoded[];
  const hcmFilter = filters.length === 1 ? filters[0] : undefined;
  if (!hcmFilter)
    throw new ConfigRejectedError(`${where}: expected exactly one network filter (http_connection_manager)`);
  const hcm = unpackAny(hcmFilter.typed_config as PackedAny, hcmTypeUrl);
  const rds = hcm.rds as Decoded | null;
  if (!rds?.route_config_name) throw new ConfigRejectedError(`${where}: the HttpConnectionManager must use rds`);
  const { extProc, suppressEnvoyHeaders } = httpFilters(hcm.http_filters as Decoded[], where);
  return {
    name,
    host: String(socket.address),
    port: Number(socket.port_value),
    routeConfigName: str(rds.route_config_name),
    ...(extProc ? { extProc } : {}),
    hcm: parseHcm(hcm, where, suppressEnvoyHeaders),
    bufferLimitBytes: uint32Value(l.per_connection_buffer_limit_bytes, defaultBufferLimitBytes),
    ...(socketConfig ? { tls: parseDownstreamTls(socketConfig, where) } : {}),
  };
}
