// What the access log reads about one request: Envoy's StreamInfo (envoy/stream_info/stream_info.h)
// as far as devproxy plays it. The connection manager creates one per request; the router and the
// ext_proc filter fill in what they learn; the log line is written from it when the response is done.
import type { DynamicMetadata } from '../ext-proc/dynamic-metadata.ts';
import type { HttpRequest, HttpResponse } from '../http/message.ts';
import type { RequestSpan } from '../tracing/request-tracer.ts';

export interface StreamInfo {
  /** Wall clock at the request's start (%START_TIME%). */
  startTime: Date;
  /** performance.now() at the start: durations are measured from it. */
  startMs: number;
  /** The downstream request header map as the log sees it: after the HCM's mutations and the router's x-envoy-original-path. */
  request: HttpRequest;
  response?: HttpResponse;
  /** Body bytes received from the client. */
  bytesReceived: number;
  /** Body bytes sent to the client. */
  bytesSent: number;
  routeName?: string;
  /** The cluster of the route the router sent the request by. */
  upstreamCluster?: string;
  /** "ip:port" of the upstream host chosen. */
  upstreamHost?: string;
  /** performance.now() when the upstream's response headers arrived (%RESPONSE_DURATION%). */
  upstreamResponseMs?: number;
  /** performance.now() when the response was complete (%DURATION%). */
  endMs?: number;
  dynamicMetadata: DynamicMetadata;
  /** The request's span, when the HCM traces (tracing/request-tracer.ts). */
  span?: RequestSpan;
}

export function newStreamInfo(request: HttpRequest): StreamInfo {
  return {
    startTime: new Date(),
    startMs: performance.now(),
    request,
    bytesReceived: request.body?.length ?? 0,
    bytesSent: 0,
    dynamicMetadata: new Map(),
  };
}

/**
 * %RESPONSE_FLAGS% from a local reply's details, for the replies devproxy makes
 * (StreamInfo::ResponseFlagUtils short names); "-" when none applies, as Envoy prints no flag.
 */
export function responseFlags(details: string | undefined): string {
  if (details === undefined) return '-';
  if (details === 'route_not_found') return 'NR';
  if (details === 'cluster_not_found') return 'NC';
  if (details === 'no_healthy_upstream') return 'UH';
  if (details === 'upstream_response_timeout') return 'UT';
  if (details === 'stream_idle_timeout') return 'SI';
  if (details.startsWith('upstream_reset_before_response_started{connection_termination')) return 'UC';
  if (details.startsWith('upstream_reset_before_response_started')) return 'UF';
  if (details.startsWith('upstream_reset_after_response_started')) return 'UR';
  return '-';
}
