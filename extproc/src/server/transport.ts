// What carries ext_proc streams to the stream state machine (stream.ts), and the health service next
// to them (docs/architecture.md#the-hot-path): grpc-js (grpc-transport.ts) or gRPC implemented on
// node:http2 with generated codecs (http2-transport.ts), chosen by `gatehouse extproc --transport`.
// Both serve plain text or TLS through lib/tls's TlsListener (certificate and trust bundle reloads),
// bound the message size, the streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS) and Envoy's
// stream resets (stream-resets.ts), ping idle connections, recycle old ones (max connection age), and
// drain on shutdown: new streams refused, open ones finished, the rest forced at the deadline.
import type { Logger } from 'pino';
import type { GatehouseError } from '../../../lib/errors.ts';
import type { ServerTls } from '../../../lib/tls/flags.ts';
import type { ProcessingRequest, ProcessingResponse } from './envoy-proto.ts';

export const TRANSPORTS = ['grpc-js', 'http2'] as const;
export type TransportName = (typeof TRANSPORTS)[number];
/** The default of `gatehouse extproc --transport`; see docs/architecture.md#the-hot-path for why. */
export const DEFAULT_TRANSPORT: TransportName = 'http2';

export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';
export const PROCESS_PATH = `/${EXT_PROC_SERVICE}/Process`;

/** Where a call's events go: one object whose methods the transport calls (no emitter, no closures per call). */
export interface ProcessSink {
  message(msg: ProcessingRequest): void;
  /** The client half-closed. */
  halfClosed(): void;
  /** The client went away, the deadline passed or the transport refused a message (too large, undecodable). */
  cancelled(): void;
}

/**
 * One ExternalProcessor.Process call, as the stream state machine uses it: the http2 transport's own
 * call (http2-call.ts), or grpc-js's duplex call adapted (grpc-transport.ts).
 */
export interface ProcessCall {
  readonly metadata: { get(key: string): Array<string | Buffer> };
  /** Where the call's events go; called once, in the tick the call is handed over (onProcess). */
  listen(sink: ProcessSink): void;
  write(msg: ProcessingResponse): boolean;
  /** Ends the call with status OK. */
  end(): void;
  /** Ends the call with this status (trailers-only when nothing was sent). */
  sendStatus(code: number, details: string): void;
}

export interface TransportOptions {
  /** Called once per Process call. */
  onProcess: (call: ProcessCall) => void;
  /** SETTINGS_MAX_CONCURRENT_STREAMS per connection; 0 advertises none (limits.ts maxConnectionStreams). */
  maxConnectionStreams: number;
  /** Largest gRPC message accepted; larger ones end the call with RESOURCE_EXHAUSTED before they are buffered. */
  maxReceiveMessageBytes: number;
  /** A connection idle this long is pinged (HTTP/2 PING); no answer within keepaliveTimeoutMs closes it. 0: never. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /**
   * A connection this old (plus or minus 10%, so that connections opened together do not all end
   * together) is sent GOAWAY: its open streams finish, the client opens a new connection for the
   * next ones, and a replica added since gets its share. As grpc-go's MaxConnectionAge (sent as grpc-js
   * sends it: http2-transport.ts maxConnectionAge). 0 or absent: never.
   */
  maxConnectionAgeMs?: number;
  /** After that GOAWAY, streams still open this much later are cut (the connection is destroyed). 0 or absent: never. */
  maxConnectionAgeGraceMs?: number;
  tls?: ServerTls;
  onTlsRefused?: (err: GatehouseError) => void;
  log: Logger;
}

export interface ExtprocTransport {
  readonly name: TransportName;
  /** The grpc.health.v1 status of "" and the ext_proc service: SERVING or NOT_SERVING. */
  setServing(serving: boolean): void;
  /** Binds and starts serving; resolves to the bound port (0 picks one). */
  listen(host: string, port: number): Promise<number>;
  /** Refuses new streams (GOAWAY), lets open ones finish, forces the rest after `graceMs`. */
  shutdown(graceMs: number): Promise<void>;
}

/** The grpc-message trailer's encoding (gRPC over HTTP/2: percent-encoded UTF-8, printable ASCII but '%' as is). */
export function encodeGrpcMessage(details: string): string {
  let out = '';
  for (const byte of Buffer.from(details, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
