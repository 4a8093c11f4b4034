// What one ext_proc stream, and all of them together, may hold (docs/architecture.md#the-envoy-and-extproc-contract and 10: no request stalls
// another, every input bounded). Defaults follow Envoy where Envoy has the same limit: its HTTP
// connection manager's max_request_headers_kb (60) and max_headers_count (100), and its
// stream_idle_timeout (5 min). Per-message failures are answered as faults (gatehouse-faults.ts);
// what cannot be answered on the stream ends it with a gRPC status (the errors below).
import * as grpc from '@grpc/grpc-js';
import { GatehouseError } from '../../../lib/errors.ts';
import type { EnvoyHeaderMap } from './envoy-proto.ts';

export interface StreamLimits {
  /** Largest request or response body a policy may buffer (413 / 502 beyond). */
  maxBodyBytes: number;
  /** Headers (pseudo-headers included) in one headers or trailers message. */
  maxHeadersCount: number;
  /** Bytes of names and values in one headers or trailers message. */
  maxHeadersBytes: number;
  /** A stream with no message for this long is ended (DEADLINE_EXCEEDED). */
  streamIdleTimeoutMs: number;
  /** Streams open at once in this process; more are refused with RESOURCE_EXHAUSTED. */
  maxStreams: number;
  /**
   * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection (grpc.max_concurrent_streams); 0 advertises
   * none. Off by default: Node's HTTP/2 server counts a stream until it has cleaned it up, after the
   * client already saw it end, so a client reopening streams at the limit gets some refused
   * (ENHANCE_YOUR_CALM), and after 100 refusals Node resets the whole connection, failing every stream
   * on it. maxStreams refuses each extra stream cleanly instead.
   */
  maxConnectionStreams: number;
  /** Body bytes all streams together may hold; a body that would pass it gets 503 gatehouse.BodyBufferFull. */
  maxBufferedBodyBytes: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxBodyBytes: 1024 * 1024,
  maxHeadersCount: 100,
  maxHeadersBytes: 60 * 1024,
  // Envoy's stream_idle_timeout: an ext_proc stream legitimately idles between the request and the
  // response phases while the upstream works (routes time out at 15-30 s by default, streaming
  // responses run longer), so this only catches streams whose HTTP request is gone.
  streamIdleTimeoutMs: 5 * 60 * 1000,
  // Envoy's default circuit breaker allows 1,024 requests in flight to a cluster: ten Envoys' worth.
  maxStreams: 10_000,
  maxConnectionStreams: 0,
  maxBufferedBodyBytes: 128 * 1024 * 1024,
};

/** Ends a stream with a gRPC status instead of a reply. */
export abstract class StreamStatusError extends GatehouseError {
  readonly grpcCode: grpc.status;
  constructor(code: string, grpcCode: grpc.status, message: string) {
    super(code, message);
    this.grpcCode = grpcCode;
  }
}

/** Messages out of order, or empty: Envoy would never send them. */
export class ProtocolError extends StreamStatusError {
  constructor(grpcCode: grpc.status.INVALID_ARGUMENT | grpc.status.FAILED_PRECONDITION, message: string) {
    super('GH_ERR_EXTPROC_PROTOCOL', grpcCode, message);
  }
}

/** The process already has --max-streams streams open. */
export class StreamLimitError extends StreamStatusError {
  constructor(limit: number) {
    super(
      'GH_ERR_EXTPROC_STREAM_LIMIT',
      grpc.status.RESOURCE_EXHAUSTED,
      `extproc has ${limit} streams open (--max-streams)`,
    );
  }
}

/** No message on the stream for --stream-idle-timeout-ms. */
export class StreamIdleError extends StreamStatusError {
  constructor(timeoutMs: number) {
    super('GH_ERR_EXTPROC_STREAM_IDLE', grpc.status.DEADLINE_EXCEEDED, `no message for ${timeoutMs} ms`);
  }
}

/** Why a headers or trailers message is over the limits, or undefined. Counts before decoding anything. */
export function headersProblem(map: EnvoyHeaderMap | null | undefined, limits: StreamLimits): string | undefined {
  const headers = map?.headers ?? [];
  if (headers.length > limits.maxHeadersCount) return `${headers.length} headers, max ${limits.maxHeadersCount}`;
  let bytes = 0;
  for (const h of headers) {
    bytes += h.key.length + (h.rawValue && h.rawValue.length > 0 ? h.rawValue.length : h.value.length);
  }
  if (bytes > limits.maxHeadersBytes) return `${bytes} bytes of headers, max ${limits.maxHeadersBytes}`;
  return undefined;
}

/**
 * The body bytes all streams hold, against one budget: a stream reserves what it buffers (the declared
 * content-length up front when it has one, so Envoy is refused before it sends the body; else chunk by
 * chunk) and releases all of it when it ends.
 */
export class BodyBudget {
  readonly limit: number;
  private used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit; false (taking nothing) when they would pass the limit. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
