// envoy.filters.network.http_connection_manager for one request, in the order of Envoy's
// ConnectionManagerImpl::ActiveStream::decodeHeaders (source/common/http/conn_manager_impl.cc, v1.36):
// codec checks (HTTP/1.0, header count, underscores), missing host, empty or relative path (404),
// path normalisation (lib/http/path.ts: 400 or 307), host normalisation, the request header
// mutations (request-headers.ts), an upgrade (403: no upgrade_configs), route selection, then the
// HTTP filter chain: ext_proc (when configured) in front of the router. Every response then gets
// what ActiveStream::encodeHeaders adds: date, server, x-request-id when asked.
import { maybeNormalizePath } from '../../../lib/http/path.ts';
import type { ConnectionInfo } from '../ext-proc/attributes.ts';
import { formatAddress } from '../ext-proc/attributes.ts';
import { localReply } from '../http/local-reply.ts';
import { header, isGrpcRequest, withHeader, type HttpRequest, type HttpResponse } from '../http/message.ts';
import type { ListenerConfig, RouteTableConfig } from '../config/model.ts';
import type { ExtProcFilter } from '../filters/ext-proc-filter.ts';
import { formatLine } from '../access-log/format.ts';
import { newStreamInfo, responseFlags, type StreamInfo } from '../access-log/stream-info.ts';
import type { RequestTracer } from '../tracing/request-tracer.ts';
import { matchRoute } from '../router/route-table.ts';
import type { Router } from '../router/router.ts';
import type { DownstreamRequest } from './http-listener.ts';
import { isUpgrade, mutateRequestHeaders, normalizeHost, peerIp } from './request-headers.ts';

export interface ConnectionManagerDeps {
  routeTable: (name: string) => RouteTableConfig | undefined;
  router: Router;
  extProc: ExtProcFilter;
  /** Where access log lines go (the StdoutAccessLog: process.stdout unless a test or `gatehouse dev` says otherwise). */
  accessLog?: (line: string) => void;
  /** Spans for listeners whose HCM traces. */
  tracer?: RequestTracer;
}

const writeStdout = (line: string) => {
  process.stdout.write(line);
};

/** The local replies an HTTP/1 connection does not survive (the request may not have been read to its end). */
function closesHttp1(response: HttpResponse): boolean {
  return (
    response.localReply !== undefined &&
    (response.status === 400 || response.status === 413 || response.status === 426 || response.status === 431)
  );
}

/** Removed from every response (ConnectionManagerUtility::mutateResponseHeaders, no upgrades here). */
const responseHopByHop = new Set(['connection', 'upgrade', 'transfer-encoding', 'keep-alive', 'proxy-connection']);

/**
 * ActiveStream::encodeHeaders: date when absent, server per server_header_transformation, then
 * mutateResponseHeaders (hop-by-hop headers out, x-request-id when asked).
 */
function encodeHeaders(
  listener: ListenerConfig,
  request: HttpRequest | undefined,
  response: HttpResponse,
  h2: boolean,
): HttpResponse {
  const hcm = listener.hcm;
  let headers = response.headers.filter(([n]) => !responseHopByHop.has(n));
  if (header(headers, 'date') === undefined) headers = [...headers, ['date', new Date().toUTCString()]];
  if (
    hcm.serverHeaderTransformation === 'OVERWRITE' ||
    (hcm.serverHeaderTransformation === 'APPEND_IF_ABSENT' && header(headers, 'server') === undefined)
  ) {
    headers = withHeader(headers, 'server', hcm.serverName);
  }
  const requestId = request ? header(request.headers, 'x-request-id') : undefined;
  if (hcm.alwaysSetRequestIdInResponse && requestId !== undefined)
    headers = withHeader(headers, 'x-request-id', requestId);
  if (!h2 && closesHttp1(response)) headers = withHeader(headers, 'connection', 'close');
  return { ...response, headers };
}

export async function handleRequest(
  listener: ListenerConfig,
  deps: ConnectionManagerDeps,
  d: DownstreamRequest,
): Promise<HttpResponse> {
  const info = newStreamInfo(d.request);
  const { response, request } = await decode(listener, deps, d, info);
  const out = encodeHeaders(listener, request, response, d.h2);
  info.span?.endRequest(out.status, info.upstreamCluster, responseFlags(out.localReply?.details));
  if (listener.hcm.accessLogs.length > 0) {
    // Envoy logs when the stream is destroyed, its last byte sent; devproxy when the response is handed to the codec.
    info.response = out;
    info.bytesSent = d.request.method === 'HEAD' || out.resetStream ? 0 : out.body.length;
    info.endMs = performance.now();
    const write = deps.accessLog ?? writeStdout;
    for (const format of listener.hcm.accessLogs) write(formatLine(format, info));
  }
  return out;
}

async function decode(
  listener: ListenerConfig,
  deps: ConnectionManagerDeps,
  d: DownstreamRequest,
  info: StreamInfo,
): Promise<{ response: HttpResponse; request?: HttpRequest }> {
  const hcm = listener.hcm;
  let request = d.request;
  const reply = (status: number, body: string, details: string) => ({
    response: localReply(status, body, details, { request }),
  });

  // The codec: HTTP/1.0, header count, underscores in names.
  if (request.protocol === 'HTTP/1.0' && !hcm.acceptHttp10) return reply(426, 'Upgrade Required', 'http1.codec_error');
  if (request.headers.length > hcm.maxHeadersCount)
    return reply(431, 'Request Header Fields Too Large', 'http1.too_many_headers');
  if (hcm.headersWithUnderscores !== 'ALLOW' && request.headers.some(([n]) => n.includes('_'))) {
    if (hcm.headersWithUnderscores === 'DROP_HEADER')
      request = { ...request, headers: request.headers.filter(([n]) => !n.includes('_')) };
    else if (d.h2) return { response: { ...localReply(400, '', 'http2.unexpected_underscore'), resetStream: true } };
    else return reply(400, 'Bad Request', 'http1.unexpected_underscore');
  }

  if (!request.authority) return reply(400, '', 'missing_host_header');
  if (request.path === '') return reply(404, '', 'missing_path_rejected');
  if (!request.path.startsWith('/')) return reply(404, '', 'absolute_path_rejected');
  const normalized = maybeNormalizePath(request.path, hcm.path);
  if (normalized.action === 'reject' || (normalized.action === 'redirect' && isGrpcRequest(request.headers)))
    return reply(400, '', 'path_normalization_failed');
  if (normalized.action === 'redirect') {
    return {
      response: localReply(307, '', 'path_normalization_redirect', {
        request,
        modifyHeaders: (h) => [...h, ['location', normalized.path]],
      }),
    };
  }
  request = { ...request, path: normalized.path, authority: normalizeHost(request.authority, hcm) };

  const peer = peerIp(d.remoteAddress);
  const table = deps.routeTable(listener.routeConfigName);
  const mutated = mutateRequestHeaders(request, hcm, {
    peer,
    secure: d.secure,
    internalOnlyHeaders: table?.internalOnlyHeaders ?? [],
  });
  request = mutated.request;
  info.request = request;
  if (isUpgrade(d.request.headers)) return { response: localReply(403, '', 'upgrade_failed', { request }), request };

  const select = (req: HttpRequest) =>
    table
      ? matchRoute(table, { authority: req.authority ?? '', path: req.path.split('?')[0] ?? '', headers: req.headers })
      : undefined;
  const route = select(request);
  if (route) info.routeName = route.name;
  // The request's span, after the HCM's header mutations (x-request-id) as in ActiveStream::traceRequest.
  if (hcm.tracing && deps.tracer) {
    const span = await deps.tracer.start(hcm.tracing, request);
    if (span) info.span = span;
  }
  const upstream = async (req: HttpRequest, routing: { clearRouteCache: boolean }) => {
    const chosen = routing.clearRouteCache ? select(req) : route;
    if (chosen) info.upstreamCluster = chosen.cluster;
    // The router injects the request span's context into the upstream request (injectContext).
    if (info.span) req = { ...req, headers: withHeader(req.headers, 'traceparent', info.span.traceparent()) };
    info.request = req;
    return deps.router.send(chosen, req, listener.hcm.suppressEnvoyHeaders, listener.hcm.streamIdleTimeoutMs, info);
  };
  if (!listener.extProc) return { response: await upstream(request, { clearRouteCache: false }), request };

  const remote = peerIp(mutated.remoteAddress);
  const connection: ConnectionInfo = {
    sourceAddress: formatAddress(remote, remote === peer ? d.remotePort : 0),
    sourcePort: remote === peer ? d.remotePort : 0,
    destinationAddress: formatAddress(peerIp(d.localAddress), d.localPort),
    destinationPort: d.localPort,
    mtls: d.mtls,
    ...(route ? { routeName: route.name, clusterName: route.cluster } : {}),
  };
  let sent: HttpRequest = request;
  const result = await deps.extProc.run({
    config: listener.extProc,
    override: route?.extProcOverrides.get(listener.extProc.filterName),
    request,
    connection,
    upstream: (req, routing) => {
      sent = req;
      return upstream(req, routing);
    },
    ...(info.span ? { span: info.span } : {}),
    bufferLimitBytes: d.h2 ? hcm.http2StreamWindowBytes : listener.bufferLimitBytes,
    headerLimits: { maxHeadersKb: hcm.maxRequestHeadersKb, maxHeadersCount: hcm.maxHeadersCount },
  });
  if (result.dynamicMetadata) info.dynamicMetadata = result.dynamicMetadata;
  return { response: result.response, request: sent };
}
