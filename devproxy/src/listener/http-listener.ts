// A listener speaking HTTP/1.1 and HTTP/2 on one port, as an Envoy listener with codec_type AUTO
// does: in plain text the first bytes of a connection pick the codec (h2c prior knowledge); with a
// DownstreamTlsContext, TLS (lib/tls TlsListener: certificates that change under it apply to new
// handshakes, client certificates verified and refusals logged with the issuer) and ALPN picks it.
// Requests are read whole (body and trailers) and handed to the connection manager; its response is
// written back framed as Envoy's codecs frame it: its content-length when it has one, else chunked on
// HTTP/1.1 (trailers after the last chunk), END_STREAM on HTTP/2. What the HTTP/1 codec itself
// answers (a request that does not parse, headers too large, the request header timeout, an upgrade
// with no upgrade_configs) is answered here as Envoy's codec and connection manager answer it.
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  constants as h2constants,
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { TlsListener, type TlsListenerOptions } from '../../../lib/tls/server.ts';
import { localReply } from '../http/local-reply.ts';
import { header, type HeaderList, type HttpRequest, type HttpResponse } from '../http/message.ts';
import { ListenerBindError } from '../errors.ts';
import { maxUnbufferedBodyBytes, toOutgoingHeaders } from '../upstream/upstream-request.ts';

export interface DownstreamRequest {
  request: HttpRequest;
  remoteAddress: string;
  remotePort: number;
  /** The listener address the connection arrived on. */
  localAddress: string;
  localPort: number;
  /** The client presented a certificate that verified (Envoy's connection.mtls). */
  mtls: boolean;
  /** The connection is TLS. */
  secure: boolean;
  h2: boolean;
}

/** TlsListener's options but the connection handler (an empty `alpn`, as an unset alpn_protocols: h2 and http/1.1). */
export type ListenerTls = Pick<
  TlsListenerOptions,
  'source' | 'policy' | 'clientAuth' | 'alpn' | 'log' | 'purpose' | 'onRefused'
>;

/** What the codecs take from the HttpConnectionManager. */
export interface CodecOptions {
  codec: 'AUTO' | 'HTTP1' | 'HTTP2';
  /** max_request_headers_kb. */
  maxRequestHeadersKb: number;
  /** request_headers_timeout; 0 disables it. */
  requestHeadersTimeoutMs: number;
  /** server_name, for the replies the codec sends itself. */
  serverName: string;
  /** stream_idle_timeout while the request body arrives (the upstream side is the router's); 0 disables it. */
  streamIdleTimeoutMs: number;
  /** common_http_protocol_options.idle_timeout: a connection without streams is drained; 0 disables it. */
  idleTimeoutMs: number;
  /** drain_timeout: from the idle timeout to the close. */
  drainTimeoutMs: number;
}

/** Envoy's defaults (HCM proto): no header timeout, a 5 min stream idle timeout, a 1 h connection idle timeout, 5 s drain. */
export const defaultCodecOptions: CodecOptions = {
  codec: 'AUTO',
  maxRequestHeadersKb: 60,
  requestHeadersTimeoutMs: 0,
  serverName: 'envoy',
  streamIdleTimeoutMs: 300_000,
  idleTimeoutMs: 3_600_000,
  drainTimeoutMs: 5000,
};

/** A connection's streams and its idle timer (ConnectionManagerImpl idle_timer_ / drain_timer_). */
interface ConnectionState {
  active: number;
  /** Bytes arrived: Envoy has a codec, so an idle timeout drains rather than closes at once. */
  sawData: boolean;
  timer: NodeJS.Timeout | undefined;
  /** The drain started: a response still written gets `connection: close`. */
  draining: boolean;
}

export type RequestHandler = (req: DownstreamRequest) => Promise<HttpResponse>;

const h2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function headerListOf(raw: string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}

function requestOf(req: IncomingMessage | Http2ServerRequest, body: Buffer, h2: boolean): HttpRequest {
  const headers: HeaderList = [];
  let authority = '';
  for (const [name, value] of headerListOf(req.rawHeaders)) {
    if (name === ':authority' || name === 'host') authority ||= value;
    else if (!name.startsWith(':')) headers.push([name, value]);
  }
  let path = req.url ?? '/';
  // HTTP/1 absolute-form (allow_absolute_url): the target's authority replaces Host, its path is :path.
  const absolute = !h2 ? /^(https?):\/\/([^/?#]*)(.*)$/i.exec(path) : null;
  if (absolute) {
    authority = absolute[2]!;
    path = absolute[3] || '/';
  }
  const trailers = headerListOf(req.rawTrailers);
  return {
    method: req.method ?? 'GET',
    path,
    authority,
    headers,
    body,
    ...(h2 ? { scheme: String(req.headers[':scheme'] ?? 'http') } : {}),
    ...(trailers.length > 0 ? { trailers } : {}),
    protocol: h2 ? 'HTTP/2' : `HTTP/${req.httpVersion}`,
  };
}

/**
 * Writes a response as Envoy's codecs do: the content-length it has is kept (also for HEAD), without
 * one an HTTP/1.1 body is chunked (trailers after it) and an empty one gets `content-length: 0`.
 */
function writeResponse(
  res: ServerResponse | Http2ServerResponse,
  method: string,
  out: HttpResponse,
  h2: boolean,
  closeConnection: boolean,
): void {
  if (h2 && out.resetStream) {
    (res as Http2ServerResponse).stream.close(h2constants.NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  if (out.cut) {
    writeCut(res, out, h2);
    return;
  }
  const skip = h2
    ? new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'])
    : new Set(['transfer-encoding']);
  const list = out.headers.filter(([name]) => !skip.has(name) && !name.startsWith(':'));
  if (!h2 && closeConnection && header(list, 'connection') === undefined) list.push(['connection', 'close']);
  const trailers = out.trailers ?? [];
  let hasLength = header(list, 'content-length') !== undefined;
  // A headers-only response gets `content-length: 0` from Envoy's HTTP/1 codec (not for HEAD, 204, 304).
  if (
    !h2 &&
    !hasLength &&
    method !== 'HEAD' &&
    out.body.length === 0 &&
    trailers.length === 0 &&
    out.status >= 200 &&
    out.status !== 204 &&
    out.status !== 304
  ) {
    list.push(['content-length', '0']);
    hasLength = true;
  }
  const w = res as ServerResponse;
  w.writeHead(out.status, toOutgoingHeaders(list));
  if (method === 'HEAD' || out.body.length === 0) {
    if (!hasLength && trailers.length > 0 && out.status !== 204 && out.status !== 304) {
      w.write(Buffer.alloc(0));
      w.addTrailers(trailers);
    }
    w.end();
    return;
  }
  if (hasLength) {
    w.end(out.body); // with a content-length, HTTP/1 cannot carry trailers: Envoy drops them too
    return;
  }
  w.write(out.body); // no content-length: chunked (HTTP/1.1), DATA frames (HTTP/2)
  if (trailers.length > 0) w.addTrailers(h2 ? toOutgoingHeaders(trailers) : trailers);
  w.end();
}

/**
 * A response whose upstream stopped after the headers, which had gone downstream: the headers and the
 * body so far are written, then the stream is reset (FilterManager::sendLocalReply's last branch): on
 * HTTP/1 the connection closes with the body short of its length (or its last chunk), on HTTP/2 an
 * RST_STREAM (NO_ERROR, as Envoy's codec resets a local reset).
 */
function writeCut(res: ServerResponse | Http2ServerResponse, out: HttpResponse, h2: boolean): void {
  const skip = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
  const list = out.headers.filter(
    ([name]) => !(h2 ? skip.has(name) : name === 'transfer-encoding') && !name.startsWith(':'),
  );
  const w = res as ServerResponse;
  w.writeHead(out.status, toOutgoingHeaders(list));
  const reset = () => {
    if (h2) (res as Http2ServerResponse).stream.close(h2constants.NGHTTP2_NO_ERROR);
    else w.socket?.destroy();
  };
  if (out.body.length > 0) w.write(out.body, reset);
  else {
    w.flushHeaders();
    setImmediate(reset);
  }
}

/** The bytes of a reply the HTTP/1 codec sends by itself, before any stream exists (sendProtocolError). */
function rawReply(status: number, reason: string, body: string, serverName: string): string {
  const length = Buffer.byteLength(body);
  return (
    `HTTP/1.1 ${status} ${reason}\r\n${length > 0 ? `content-length: ${length}\r\ncontent-type: text/plain\r\n` : 'content-length: 0\r\n'}` +
    `date: ${new Date().toUTCString()}\r\nserver: ${serverName}\r\nconnection: close\r\n\r\n${body}`
  );
}

export class HttpListener {
  private readonly handler: RequestHandler;
  private readonly sockets = new Set<Socket>();
  /** Connections handed to the HTTP/2 server. */
  private readonly h2Sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private closing = false;
  private readonly tls: TlsListener | undefined;
  private readonly tcp: NetServer;
  private readonly http1: ReturnType<typeof createHttp1Server>;
  private readonly http2 = createHttp2Server((req, res) => this.serveSafely(req, res, true));
  private codec: CodecOptions;
  private readonly headerTimers = new WeakMap<Socket, { timer: NodeJS.Timeout | undefined; inRequest: boolean }>();
  private readonly connections = new WeakMap<Socket, ConnectionState>();

  constructor(handler: RequestHandler, tls?: ListenerTls, codec: CodecOptions = defaultCodecOptions) {
    this.handler = handler;
    this.codec = codec;
    this.http1 = createHttp1Server(
      {
        maxHeaderSize: codec.maxRequestHeadersKb * 1024,
        requireHostHeader: false,
        // Node's own request timers need the server to listen itself, which it does not here:
        // request_headers_timeout is watchRequestHeaders'.
        requestTimeout: 0,
      },
      (req, res) => this.serveSafely(req, res, false),
    );
    this.http1.maxHeadersCount = 0; // counted by the connection manager (max_headers_count)
    this.http1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    // An upgrade (e.g. websocket) on a connection manager without upgrade_configs: 403 and the connection closes.
    this.http1.on('upgrade', (_req: IncomingMessage, socket: Duplex) =>
      socket.end(rawReply(403, 'Forbidden', '', this.codec.serverName)),
    );
    if (tls) {
      this.tls = new TlsListener({
        source: tls.source,
        policy: tls.policy,
        clientAuth: tls.clientAuth,
        alpn: tls.alpn.length > 0 ? tls.alpn : ['h2', 'http/1.1'],
        log: tls.log,
        purpose: tls.purpose,
        onConnection: (socket) => this.onSecureConnection(socket),
        ...(tls.onRefused ? { onRefused: tls.onRefused } : {}),
      });
      this.tcp = this.tls.server;
    } else {
      this.tcp = createNetServer((socket) => this.onConnection(socket));
    }
    this.http2.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      this.watchSessionIdle(session);
    });
  }

  /** New HCM codec settings for a listener updated in place: new connections use them. */
  updateCodec(codec: CodecOptions): void {
    this.codec = codec;
    (this.http1 as unknown as { maxHeaderSize: number }).maxHeaderSize = codec.maxRequestHeadersKb * 1024; // read per new connection
  }

  /** New TLS settings for a listener updated in place: new handshakes use them, open connections carry on. */
  updateTls(tls: Pick<ListenerTls, 'source' | 'policy' | 'clientAuth'>): void {
    this.tls?.update(tls);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new ListenerBindError(`${host}:${port}`, err));
      this.tcp.once('error', onError);
      this.tcp.listen(port, host, () => {
        this.tcp.off('error', onError);
        resolve((this.tcp.address() as { port: number }).port);
      });
    });
  }

  /**
   * Drains like Envoy's listener drain: stops accepting, closes idle HTTP/1.1 connections, answers
   * in-flight HTTP/1.1 requests with `connection: close`, sends HTTP/2 GOAWAY; after `graceMs` what is
   * left is cut.
   */
  close(graceMs = 5000): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const s of this.sockets) s.destroy();
      }, graceMs);
      timer.unref();
      this.tcp.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.http1.closeIdleConnections();
      for (const session of this.sessions) session.close();
      // An HTTP/2 session that has finished its streams after GOAWAY ends its side of the connection;
      // the connection goes then, rather than waiting the grace period for a client that never closes.
      for (const s of this.h2Sockets) {
        if (s.writableFinished) s.destroy();
        else s.once('finish', () => s.destroy());
      }
    });
  }

  /** ALPN picks the codec (Node's HTTP/2 server serves TLS only with ALPN h2). */
  private onSecureConnection(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.h2Sockets.delete(socket);
    });
    if (socket.alpnProtocol === 'h2') this.h2Sockets.add(socket);
    else {
      this.watchRequestHeaders(socket);
      this.watchIdle(socket, true);
    }
    (socket.alpnProtocol === 'h2' ? this.http2 : this.http1).emit('connection', socket);
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.h2Sockets.delete(socket);
    });
    // Before any byte there is no codec: an idle timeout closes the connection at once.
    const state = this.watchIdle(socket, false);
    socket.once('readable', () => {
      const head = socket.read(Math.min(h2Preface.length, socket.readableLength)) as Buffer | null;
      if (!head) return socket.destroy();
      state.sawData = true;
      socket.unshift(head);
      const isH2 =
        this.codec.codec === 'HTTP2' ||
        (this.codec.codec === 'AUTO' && head.length >= 3 && h2Preface.subarray(0, head.length).equals(head));
      if (isH2) {
        this.h2Sockets.add(socket);
        clearTimeout(state.timer); // the HTTP/2 session keeps its own idle timer
        this.connections.delete(socket);
      }
      (isH2 ? this.http2 : this.http1).emit('connection', socket);
      if (!isH2) this.watchRequestHeaders(socket);
    });
  }

  /**
   * common_http_protocol_options.idle_timeout on an HTTP/1 connection (ConnectionManagerImpl::onIdleTimeout):
   * armed while the connection has no stream. Without a codec yet (no byte arrived) it closes the
   * connection; otherwise it starts the drain, and drain_timeout later the connection closes.
   */
  private watchIdle(socket: Socket, sawData: boolean): ConnectionState {
    const state: ConnectionState = { active: 0, sawData, timer: undefined, draining: false };
    this.connections.set(socket, state);
    socket.once('close', () => clearTimeout(state.timer));
    this.armIdle(socket, state);
    return state;
  }

  private armIdle(socket: Socket, state: ConnectionState): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    const ms = this.codec.idleTimeoutMs;
    if (ms <= 0 || state.active > 0 || state.draining) return;
    state.timer = setTimeout(() => {
      if (state.active > 0) return;
      if (!state.sawData) {
        socket.destroy();
        return;
      }
      state.draining = true;
      state.timer = setTimeout(() => {
        if (state.active === 0) socket.destroy();
      }, this.codec.drainTimeoutMs);
    }, ms);
  }

  /** A stream on an HTTP/1 connection starts or ends; with none left the idle timer runs again. */
  private streamOnConnection(socket: Socket, delta: 1 | -1): void {
    const state = this.connections.get(socket);
    if (!state) return;
    state.active += delta;
    if (state.active > 0) {
      clearTimeout(state.timer);
      if (!state.draining) state.timer = undefined;
    } else if (state.draining) socket.destroy();
    else this.armIdle(socket, state);
  }

  /**
   * The same timer on an HTTP/2 connection: at the idle timeout a GOAWAY announces the drain
   * (shutdownNotice), drain_timeout later the session closes.
   */
  private watchSessionIdle(session: ServerHttp2Session): void {
    let timer: NodeJS.Timeout | undefined;
    let active = 0;
    const arm = () => {
      clearTimeout(timer);
      const ms = this.codec.idleTimeoutMs;
      if (ms <= 0 || active > 0) return;
      timer = setTimeout(() => {
        session.goaway(h2constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
        timer = setTimeout(() => session.close(), this.codec.drainTimeoutMs);
      }, ms);
    };
    session.on('stream', (stream) => {
      active++;
      clearTimeout(timer);
      stream.once('close', () => {
        active--;
        arm();
      });
    });
    session.once('close', () => clearTimeout(timer));
    arm();
  }

  /**
   * request_headers_timeout on an HTTP/1 connection (ActiveStream's request_header_timer_): armed by
   * the first byte of a request, disarmed when its headers are complete; on expiry Envoy answers 408
   * `request header timeout` and closes the connection.
   */
  private watchRequestHeaders(socket: Socket): void {
    const state = { timer: undefined as NodeJS.Timeout | undefined, inRequest: false };
    this.headerTimers.set(socket, state);
    socket.on('data', () => {
      const ms = this.codec.requestHeadersTimeoutMs;
      if (state.inRequest || state.timer || ms <= 0) return;
      state.timer = setTimeout(() => {
        if (!socket.destroyed)
          socket.end(rawReply(408, 'Request Timeout', 'request header timeout', this.codec.serverName));
      }, ms);
    });
    socket.once('close', () => clearTimeout(state.timer));
  }

  /** The request's headers are in: its connection's header timer stops until the response is written. */
  private requestStarted(req: IncomingMessage, res: ServerResponse): void {
    const state = this.headerTimers.get(req.socket);
    if (!state) return;
    clearTimeout(state.timer);
    state.timer = undefined;
    state.inRequest = true;
    res.once('finish', () => {
      state.inRequest = false;
    });
  }

  /** The HTTP/1 codec's own answers: headers too large 431, anything unparsable 400. */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const reply =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? rawReply(431, 'Request Header Fields Too Large', 'Request Header Fields Too Large', this.codec.serverName)
        : rawReply(400, 'Bad Request', 'Bad Request', this.codec.serverName);
    socket.end(reply);
  }

  /** No request can take the listener down: whatever escapes serve() resets that one stream. */
  private serveSafely(
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
    h2: boolean,
  ): void {
    this.serve(req, res, h2).catch(() => {
      if (!res.destroyed) res.destroy();
    });
  }

  private async serve(
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
    h2: boolean,
  ): Promise<void> {
    const socket = req.socket as Socket & Partial<Pick<TLSSocket, 'encrypted' | 'authorized' | 'getPeerCertificate'>>;
    if (!h2) {
      this.requestStarted(req as IncomingMessage, res as ServerResponse);
      this.streamOnConnection(socket, 1);
      res.once('close', () => this.streamOnConnection(socket, -1));
    }
    const body = await this.readBody(req, res, h2);
    if (!body) return;
    const secure = socket.encrypted === true;
    const mtls = secure && socket.authorized === true && Object.keys(socket.getPeerCertificate?.() ?? {}).length > 0;
    let out: HttpResponse;
    try {
      out = await this.handler({
        request: requestOf(req, body, h2),
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: socket.remotePort ?? 0,
        localAddress: socket.localAddress ?? '',
        localPort: socket.localPort ?? 0,
        mtls,
        secure,
        h2,
      });
    } catch (err) {
      out = localReply(500, `devproxy internal error: ${(err as Error).message}`, 'devproxy_internal_error');
    }
    const draining = this.closing || (!h2 && this.connections.get(socket)?.draining === true);
    if (!res.writableEnded && !res.destroyed) writeResponse(res, req.method ?? 'GET', out, h2, draining);
  }

  /**
   * The request body, whole; undefined when the stream ended without one to serve: the client went
   * away, the body is over devproxy's own bound (413), or no byte came for stream_idle_timeout
   * (ActiveStream::onIdleTimeout: `stream timeout`, 408 as the request is incomplete, and on HTTP/1
   * the connection closes).
   */
  private async readBody(
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
    h2: boolean,
  ): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    let idle: NodeJS.Timeout | undefined;
    let timedOut = false;
    const activity = () => {
      clearTimeout(idle);
      if (this.codec.streamIdleTimeoutMs <= 0) return;
      idle = setTimeout(() => {
        timedOut = true;
        // Once the reply is out the stream ends (HTTP/2) or the connection closes (HTTP/1), which
        // ends the body read below.
        res.once('finish', () => {
          if (h2) (res as Http2ServerResponse).stream.close(h2constants.NGHTTP2_NO_ERROR);
          else req.socket.end();
        });
        if (!res.writableEnded && !res.destroyed)
          writeResponse(
            res,
            req.method ?? 'GET',
            localReply(408, 'stream timeout', 'stream_idle_timeout', {
              modifyHeaders: (h) => [...h, ['date', new Date().toUTCString()], ['server', this.codec.serverName]],
            }),
            h2,
            true,
          );
      }, this.codec.streamIdleTimeoutMs);
    };
    activity();
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        activity();
        size += chunk.length;
        if (size > maxUnbufferedBodyBytes) {
          // devproxy's own bound: Envoy would stream a body no filter buffers.
          writeResponse(
            res,
            req.method ?? 'GET',
            localReply(413, 'Payload Too Large', 'devproxy_request_too_large'),
            h2,
            true,
          );
          return undefined;
        }
        chunks.push(chunk);
      }
    } catch {
      // The client went away mid-body (a Content-Length it never sent, a reset): Envoy resets the
      // stream (downstream_rq_rx_reset) and sends nothing upstream. Nothing to answer.
      if (!timedOut && !res.destroyed) res.destroy();
      return undefined;
    } finally {
      clearTimeout(idle);
    }
    return timedOut ? undefined : Buffer.concat(chunks);
  }
}
