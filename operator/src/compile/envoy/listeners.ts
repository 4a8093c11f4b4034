// One Listener per data-plane listener: HttpConnectionManager over RDS with the ext_proc filter first
// and the router last.
import type { FilterChain, Listener } from '../../../../protos/gen/json/envoy.config.listener.v3.ts';
import type { AnyOf } from '../../../../protos/gen/json/google.protobuf.ts';
import { protoDuration } from '../durations.ts';
import type { IrDataPlane, IrListener } from '../ir.ts';
import { emitAccessLog } from './access-log.ts';
import { extProcFilterConfig } from './ext-proc.ts';
import { emitTracing } from './tracing.ts';
import { adsConfigSource, extProcFilterName, socketAddress, typeUrls } from './names.ts';
import type { SdsSecretRefs } from './secrets.ts';
import { downstreamTls } from './tls.ts';

/**
 * The stream buffer limit Envoy holds a BUFFERED body to (docs/architecture-devproxy.md, "Compiler
 * and extproc changes"): above extproc's default --max-body-bytes (1 MiB), so a body between the two
 * reaches extproc and gets its documented 413 `gatehouse.PayloadTooLarge` / 502
 * `gatehouse.ResponseTooLarge` rather than Envoy's plain-text 413 / 500 (Envoy's own default is 1 MiB,
 * equal to extproc's); extproc's gRPC receive limit is raised to it (envoyStreamBufferLimitBytes), so a buffered body always fits one
 * ProcessingRequest. HTTP/1 takes it from the listener, HTTP/2 from the stream window, both set alike.
 */
export const streamBufferLimitBytes = 2 * 1024 * 1024;

function httpConnectionManager(dp: IrDataPlane, listener: IrListener): AnyOf<typeof typeUrls.httpConnectionManager> {
  return {
    '@type': typeUrls.httpConnectionManager,
    stat_prefix: listener.name.replaceAll('/', '_'),
    codec_type: 'AUTO',
    // Each listener its own route table: it serves only the proxies it admits (attach.ts).
    rds: { route_config_name: listener.name, config_source: adsConfigSource },
    http_filters: [
      { name: extProcFilterName, typed_config: extProcFilterConfig(dp) },
      { name: 'envoy.filters.http.router', typed_config: { '@type': typeUrls.router } },
    ],
    http2_protocol_options: { initial_stream_window_size: streamBufferLimitBytes },
    // The edge: the peer is the client address; with no internal_address_config no peer is internal,
    // so a client's x-envoy-* headers are stripped and its x-request-id is replaced by a fresh one
    // (UUIDRequestIDExtension::set): request.id / messageid is never chosen by the client.
    use_remote_address: true,
    generate_request_id: true,
    preserve_external_request_id: false,
    // One canonical path for routing, extproc's request.path and product resource matching: Envoy
    // normalises (RFC 3986 dot segments, backslashes), merges slashes and, by default, refuses an
    // escaped slash rather than guess what the upstream makes of it (docs/architecture.md#the-envoy-and-extproc-contract).
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: escapedSlashesAction[dp.requests.escapedSlashes],
    common_http_protocol_options: {
      headers_with_underscores_action: underscoresAction[dp.requests.headersWithUnderscores],
    },
    // One JSON line per request on stdout (access-log.ts); proxy, app and fault code come from extproc as
    // dynamic metadata, accepted by the ext_proc filter (ext-proc.ts metadata_options).
    ...(dp.accessLog.enabled ? { access_log: emitAccessLog(dp.accessLog) } : {}),
    // A span per request to the DataPlane's collector (tracing.ts).
    ...(dp.tracing ? { tracing: emitTracing(dp, dp.tracing) } : {}),
    ...(dp.requests.headersTimeoutMs > 0
      ? { request_headers_timeout: protoDuration(dp.requests.headersTimeoutMs) }
      : {}),
  };
}

const escapedSlashesAction = {
  Reject: 'REJECT_REQUEST',
  KeepUnchanged: 'KEEP_UNCHANGED',
  UnescapeAndRedirect: 'UNESCAPE_AND_REDIRECT',
  UnescapeAndForward: 'UNESCAPE_AND_FORWARD',
} as const;

const underscoresAction = { DropHeader: 'DROP_HEADER', Reject: 'REJECT_REQUEST', Allow: 'ALLOW' } as const;

/** A DataPlane's Listeners. */
export function emitListeners(dp: IrDataPlane, sds: SdsSecretRefs): Listener[] {
  return dp.listeners.map((l): Listener => ({
    name: l.name,
    address: socketAddress('0.0.0.0', l.port),
    per_connection_buffer_limit_bytes: streamBufferLimitBytes,
    filter_chains: [
      {
        filters: [
          { name: 'envoy.filters.network.http_connection_manager', typed_config: httpConnectionManager(dp, l) },
        ],
        ...(l.tls ? ({ transport_socket: downstreamTls(l.tls, sds) } satisfies FilterChain) : {}),
      },
    ],
  }));
}
