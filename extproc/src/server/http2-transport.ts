// The ext_proc transport on node:http2 (transport.ts): gRPC over HTTP/2 implemented here (http2-call.ts)
// with protobufjs static codecs generated from Envoy's protos (protos/gen/extproc, npm run
// gen:extproc-codecs), without grpc-js's interceptor chain and proto-loader's object conversion on the
// way in. Serves ExternalProcessor.Process and grpc.health.v1.Health/Check and Watch; any other method
// is UNIMPLEMENTED. Plain text, or TLS through lib/tls's TlsListener handing each verified socket to
// the HTTP/2 server (certificate and trust-bundle reloads apply to new handshakes, as on grpc-js).
// SETTINGS_MAX_CONCURRENT_STREAMS from --max-connection-streams, Envoy's stream resets allowed as
// stream-resets.ts does for grpc-js, idle connections pinged, connections past --max-connection-age
// sent GOAWAY (as grpc-js does), shutdown as a GOAWAY on every connection (open streams finish, new
// ones are refused), the rest destroyed at the deadline.
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { envoy, grpc } from '../../../protos/gen/extproc/codecs.js';
import { TlsListener } from '../../../lib/tls/server.ts';
import type {
  CommonResponse,
  HeaderMutation,
  HeaderValueOption,
  ImmediateResponse,
  ProcessingRequest,
  ProcessingResponse,
} from './envoy-proto.ts';
import { GrpcStatus, Http2Call, type MessageCodec } from './http2-call.ts';
import { envoyStreamResetLimit } from './stream-resets.ts';
import {
  encodeGrpcMessage,
  EXT_PROC_SERVICE,
  PROCESS_PATH,
  type ExtprocTransport,
  type TransportOptions,
} from './transport.ts';

const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';
/** grpc.health.v1.HealthCheckResponse.ServingStatus. */
const SERVING = 1;
const NOT_SERVING = 2;
const SERVICE_UNKNOWN = 3;
/** ext_proc messages a client may be ahead of our replies by before the stream stops reading. */
const MAX_QUEUED_MESSAGES = 8;
const HEALTH_MAX_MESSAGE_BYTES = 4096;

const Request = envoy.service.ext_proc.v3.ProcessingRequest;
const Response = envoy.service.ext_proc.v3.ProcessingResponse;
const HealthRequest = grpc.health.v1.HealthCheckRequest;
const HealthResponse = grpc.health.v1.HealthCheckResponse;

const APPEND_ACTION = envoy.config.core.v3.HeaderValueOption.HeaderAppendAction as unknown as Record<string, number>;
const RESPONSE_STATUS = envoy.service.ext_proc.v3.CommonResponse.ResponseStatus as unknown as Record<string, number>;
const STAGE_REPLIES = new Set([
  'requestHeaders',
  'responseHeaders',
  'requestBody',
  'responseBody',
  'requestTrailers',
  'responseTrailers',
]);
const COMMON_RESPONSE_FIELDS = new Set(['status', 'headerMutation', 'bodyMutation', 'trailers', 'clearRouteCache']);
const IMMEDIATE_RESPONSE_FIELDS = new Set(['status', 'headers', 'body', 'grpcStatus', 'details']);
const STAGE_REPLY_FIELDS = new Set(['response']);
const OPTION_FIELDS = new Set(['header', 'append', 'appendAction', 'keepEmptyValue']);

function ignore(): void {}

/** A trailers-only reply: the status in the response headers, the stream ended. */
function trailersOnly(
  stream: http2.ServerHttp2Stream,
  code: number,
  details: string,
  extra: http2.OutgoingHttpHeaders = {},
): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond(
    {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(details),
      ...extra,
    },
    { endStream: true },
  );
  stream.resume();
}

/** Not a shape wireReply knows: the generated fromObject converts the reply instead. */
const UNKNOWN = Symbol('unknown shape');

function knownKeys(object: object, known: Set<string>): boolean {
  for (const key in object) if (!known.has(key)) return false;
  return true;
}

/** A header mutation with its append actions as numbers (the enum's names are what stream.ts writes). */
function wireMutation(mutation: HeaderMutation | null | undefined): HeaderMutation | null | undefined | typeof UNKNOWN {
  const options = mutation?.setHeaders;
  if (!options || options.length === 0) return mutation;
  const setHeaders: HeaderValueOption[] = [];
  for (const option of options) {
    if (!knownKeys(option, OPTION_FIELDS)) return UNKNOWN;
    const action = option.appendAction;
    if (typeof action !== 'string') setHeaders.push(option);
    else {
      const value = APPEND_ACTION[action];
      if (value === undefined) return UNKNOWN;
      // One literal of one shape (an object rest and a spread per option were most of this function).
      const wire: HeaderValueOption = { header: option.header, append: option.append };
      if (option.keepEmptyValue != null) wire.keepEmptyValue = option.keepEmptyValue;
      if (value !== 0) wire.appendAction = value as never;
      setHeaders.push(wire);
    }
  }
  return { ...mutation, setHeaders };
}

/**
 * A reply as the generated encode takes it as is: the plain objects stream.ts builds are already that
 * shape (bytes as Buffers, numbers, the dynamic metadata's Struct) except for the enum values given by
 * name, converted here. fromObject would copy the whole reply into message objects first (the Struct
 * of the dynamic metadata field by field), a cost the profile showed on every reply
 * (docs/architecture.md#the-hot-path). Anything but the shapes stream.ts builds goes through fromObject.
 */
export function wireReply(message: ProcessingResponse): object | typeof UNKNOWN {
  let out: Record<string, unknown> | undefined;
  for (const key in message) {
    const value = (message as Record<string, unknown>)[key];
    if (value == null || key === 'dynamicMetadata') continue;
    if (STAGE_REPLIES.has(key)) {
      if (!knownKeys(value, STAGE_REPLY_FIELDS)) return UNKNOWN;
      const common = (value as { response?: CommonResponse | null }).response;
      if (common == null) continue;
      if (!knownKeys(common, COMMON_RESPONSE_FIELDS)) return UNKNOWN;
      const headerMutation = wireMutation(common.headerMutation);
      if (headerMutation === UNKNOWN) return UNKNOWN;
      const status = typeof common.status === 'string' ? RESPONSE_STATUS[common.status] : common.status;
      if (status === undefined && common.status !== undefined) return UNKNOWN;
      const { status: _status, ...rest } = common;
      const response = { ...rest, headerMutation, ...(status ? { status } : {}) };
      out ??= { ...message };
      out[key] = { ...value, response };
    } else if (key === 'immediateResponse') {
      const immediate = value as ImmediateResponse;
      if (!knownKeys(immediate, IMMEDIATE_RESPONSE_FIELDS)) return UNKNOWN;
      if (immediate.status != null && typeof immediate.status.code !== 'number') return UNKNOWN;
      const headers = wireMutation(immediate.headers);
      if (headers === UNKNOWN) return UNKNOWN;
      out ??= { ...message };
      out[key] = { ...immediate, headers };
    } else return UNKNOWN;
  }
  return out ?? message;
}

/**
 * The ext_proc codecs. Decoded messages have the fields stream.ts reads in proto-loader's shape
 * (lowerCamelCase, the `request` oneof's name, bytes as Buffers); replies are the plain objects
 * stream.ts builds (enums by name), encoded as they are (wireReply) or else converted by fromObject.
 */
export const processCodec: MessageCodec<ProcessingRequest, ProcessingResponse> = {
  name: 'ProcessingRequest',
  decode: (bytes) => Request.decode(bytes) as unknown as ProcessingRequest,
  encode: (message) => {
    const wire = wireReply(message);
    if (wire === UNKNOWN) return Response.encode(Response.fromObject(message)).finish();
    const metadata = message.dynamicMetadata;
    if (metadata == null) return Response.encode(wire).finish();
    // Fields encoded apart and concatenated are the message (dynamic_metadata, field 8, comes after the
    // reply's own field in both); the metadata's bytes are encoded once per metadata object, which
    // the streams share (request-context.ts), and the empty reply of each stage once.
    let tail = encodedMetadata.get(metadata);
    if (tail === undefined) {
      tail = Response.encode({ dynamicMetadata: metadata } as never).finish();
      encodedMetadata.set(metadata, tail);
    }
    const head = emptyReply(wire) ?? Response.encode({ ...wire, dynamicMetadata: undefined }).finish();
    return [head, tail];
  },
};

/** The encoded dynamic_metadata field of each metadata object (weakly: the objects are the cache's). */
const encodedMetadata = new WeakMap<object, Uint8Array>();
/** The encoded `{[stage]: {}}` of each stage. */
const emptyReplies = new Map<string, Uint8Array>(
  [...STAGE_REPLIES].map((stage) => [stage, Response.encode({ [stage]: {} }).finish()]),
);

/** The bytes of a reply that is one stage's empty reply (plus its metadata); undefined for any other. */
function emptyReply(wire: object): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  for (const key in wire) {
    const value = (wire as Record<string, unknown>)[key];
    if (key === 'dynamicMetadata' || value == null) continue;
    if (found !== undefined || !STAGE_REPLIES.has(key)) return undefined;
    for (const _inner in value) return undefined;
    found = emptyReplies.get(key);
  }
  return found;
}

type HealthCall = Http2Call<{ service: string }, { status: number }>;

const healthCodec: MessageCodec<{ service: string }, { status: number }> = {
  name: 'HealthCheckRequest',
  decode: (bytes) => HealthRequest.decode(bytes),
  encode: (message) => HealthResponse.encode(message).finish(),
};

export function createHttp2Transport(options: TransportOptions): ExtprocTransport {
  const server = http2.createServer({
    settings: options.maxConnectionStreams > 0 ? { maxConcurrentStreams: options.maxConnectionStreams } : {},
    // Envoy resets every ext_proc stream when it is done with it (stream-resets.ts).
    streamResetBurst: envoyStreamResetLimit.burst,
    streamResetRate: envoyStreamResetLimit.perSecond,
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  const health = new Map<string, number>([
    ['', NOT_SERVING],
    [EXT_PROC_SERVICE, NOT_SERVING],
  ]);
  const watchers = new Set<{ service: string; call: HealthCall }>();
  let closing = false;
  let tlsListener: TlsListener | undefined;

  server.on('session', (session) => {
    sessions.add(session);
    session.on('error', () => undefined);
    const stopKeepalive = options.keepaliveTimeMs > 0 ? keepalive(session, options) : () => undefined;
    const stopAge = (options.maxConnectionAgeMs ?? 0) > 0 ? maxConnectionAge(session, options) : () => undefined;
    session.once('close', () => {
      stopKeepalive();
      stopAge();
      sessions.delete(session);
    });
    if (closing) session.close();
  });

  const processOptions = { maxReceiveMessageBytes: options.maxReceiveMessageBytes, maxQueued: MAX_QUEUED_MESSAGES };
  server.on('stream', (stream, headers) => {
    // A reset from the client (Envoy resets every ext_proc stream when it is done with it) is a close.
    stream.on('error', ignore);
    const contentType = headers['content-type'] ?? '';
    if (
      headers[':method'] !== 'POST' ||
      (contentType !== 'application/grpc' && !/^application\/grpc(\+proto)?(;|$)/.test(contentType))
    ) {
      // gRPC over HTTP/2: a request that is not gRPC gets 415 (or 405), no gRPC status.
      if (!stream.destroyed)
        stream.respond({ ':status': headers[':method'] !== 'POST' ? 405 : 415 }, { endStream: true });
      stream.resume();
      return;
    }
    const encodingHeader = headers['grpc-encoding'];
    const encoding = Array.isArray(encodingHeader) ? encodingHeader.join(',') : encodingHeader;
    if (encoding !== undefined && encoding !== 'identity') {
      trailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `Unsupported grpc-encoding "${encoding.slice(0, 64)}"`, {
        'grpc-accept-encoding': 'identity',
      });
      return;
    }
    switch (headers[':path']) {
      case PROCESS_PATH: {
        options.onProcess(new Http2Call(stream, headers, processCodec, processOptions));
        return;
      }
      case HEALTH_CHECK_PATH:
      case HEALTH_WATCH_PATH: {
        const watch = headers[':path'] === HEALTH_WATCH_PATH;
        const call = new Http2Call(stream, headers, healthCodec, {
          maxReceiveMessageBytes: HEALTH_MAX_MESSAGE_BYTES,
          maxQueued: 1,
        });
        let asked = false;
        let watcher: { service: string; call: HealthCall } | undefined;
        call.listen({
          message: ({ service }) => {
            if (asked) return;
            asked = true;
            const status = health.get(service);
            if (!watch) {
              if (status === undefined)
                call.sendStatus(GrpcStatus.NOT_FOUND, `health status unknown for service ${service}`);
              else {
                call.write({ status });
                call.end();
              }
              return;
            }
            call.write({ status: status ?? SERVICE_UNKNOWN });
            if (closing) return call.end();
            watcher = { service, call };
            watchers.add(watcher);
          },
          halfClosed: () => {
            if (!watch) call.sendStatus(GrpcStatus.INVALID_ARGUMENT, 'Check needs one HealthCheckRequest');
          },
          cancelled: () => {
            if (watcher) watchers.delete(watcher);
          },
        });
        return;
      }
      default:
        trailersOnly(
          stream,
          GrpcStatus.UNIMPLEMENTED,
          `The server does not implement the method ${headers[':path'] ?? ''}`,
        );
    }
  });

  const setStatus = (service: string, status: number) => {
    if (health.get(service) === status) return;
    health.set(service, status);
    for (const w of watchers) if (w.service === service) w.call.write({ status });
  };

  return {
    name: 'http2',
    setServing: (serving) => {
      setStatus('', serving ? SERVING : NOT_SERVING);
      setStatus(EXT_PROC_SERVICE, serving ? SERVING : NOT_SERVING);
    },
    listen: async (host, port) => {
      const tls = options.tls;
      if (tls) {
        tlsListener = new TlsListener({
          source: tls.watcher,
          policy: tls.policy,
          clientAuth: tls.clientAuth,
          log: options.log,
          purpose: 'ext_proc server',
          alpn: ['h2'],
          ...(options.onTlsRefused ? { onRefused: options.onTlsRefused } : {}),
          // The TLS is the listener's; the HTTP/2 server sees the verified socket.
          onConnection: (socket) => server.emit('connection', socket),
        });
        return tlsListener.listen(host, port);
      }
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    shutdown: async (graceMs) => {
      closing = true;
      for (const w of watchers) w.call.end();
      watchers.clear();
      void tlsListener?.close();
      if (server.listening) server.close();
      const closed = [...sessions].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
      for (const session of sessions) session.close(); // GOAWAY: open streams finish, new ones are refused
      let force: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(closed),
        new Promise<void>((resolve) => {
          force = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(force);
      for (const session of sessions) session.destroy();
    },
  };
}

/** Pings the connection every keepaliveTimeMs; no answer within keepaliveTimeoutMs destroys it. Returns the stop. */
function keepalive(session: http2.ServerHttp2Session, options: TransportOptions): () => void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => {
      const deadline = setTimeout(() => session.destroy(), options.keepaliveTimeoutMs);
      deadline.unref();
      try {
        session.ping((err) => {
          clearTimeout(deadline);
          if (err) session.destroy();
          else if (!session.closed && !session.destroyed) schedule();
        });
      } catch {
        clearTimeout(deadline);
        session.destroy();
      }
    }, options.keepaliveTimeMs);
    timer.unref();
  };
  schedule();
  return () => clearTimeout(timer);
}

/** The last stream id a GOAWAY can name. */
const MAX_STREAM_ID = 2 ** 31 - 1;
const MAX_AGE = Buffer.from('max_age');

/**
 * --max-connection-age, as grpc-js does it: at the age (plus or minus 10%) a GOAWAY naming the last
 * possible stream with the debug data "max_age", then at once the GOAWAY naming the last stream
 * received (session.close(): the connection closes when its streams are done). nghttp2 takes no new
 * stream once a GOAWAY is sent and Node has no shutdown notice (grpc-go's first GOAWAY and PING), so
 * a stream the client opens while the GOAWAY is on its way is not processed: the second GOAWAY tells
 * it so, and the client may retry it on a new connection (RFC 9113 section 6.8). At the grace after
 * the GOAWAY the connection is destroyed whatever is still open; no grace: never. Returns the stop.
 */
function maxConnectionAge(session: http2.ServerHttp2Session, options: TransportOptions): () => void {
  const age = options.maxConnectionAgeMs!;
  const grace = options.maxConnectionAgeGraceMs ?? 0;
  let graceTimer: NodeJS.Timeout | undefined;
  const ageTimer = setTimeout(
    () => {
      if (session.closed || session.destroyed) return;
      try {
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, MAX_STREAM_ID, MAX_AGE);
        session.close();
      } catch {
        session.destroy();
        return;
      }
      if (grace > 0) {
        graceTimer = setTimeout(() => session.destroy(), grace);
        graceTimer.unref();
      }
    },
    age * (0.9 + Math.random() * 0.2),
  );
  ageTimer.unref();
  return () => {
    clearTimeout(ageTimer);
    clearTimeout(graceTimer);
  };
}
