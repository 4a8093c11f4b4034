// A listener speaking HTTP/1.1 and HTTP/2 on one port, as an Envoy listener with codec_type AUTO
// does: in plain text the first bytes of a connection pick the codec (h2c prior knowledge); with a
// DownstreamTlsContext, TLS (lib/tls TlsListener: certificates that change under it apply to new
// handshakes, client certificates verified and refusals logged with the issuer) and ALPN picks it.
// Requests are buffered whole and handed to the connection manager; its response is written back.
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HttpRequest, HttpResponse } from '../http/message.ts';
import { TlsListener, type TlsListenerOptions } from '../../../lib/tls/server.ts';
import type { HeaderList } from '../config/model.ts';
import { ListenerBindError } from '../errors.ts';
import { hopByHop } from '../upstream/upstream-request.ts';

export interface DownstreamRequest {
  request: HttpRequest;
  remoteAddress: string;
  remotePort: number;
  /** The client presented a certificate that verified (Envoy's connection.mtls). */
  mtls: boolean;
}

/** TlsListener's options but the connection handler (an empty `alpn`, as an unset alpn_protocols: h2 and http/1.1). */
export type ListenerTls = Pick<
  TlsListenerOptions,
  'source' | 'policy' | 'clientAuth' | 'alpn' | 'log' | 'purpose' | 'onRefused'
>;

export type RequestHandler = (req: DownstreamRequest) => Promise<HttpResponse>;

const h2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** Largest request body buffered; beyond it the request gets 413 (Envoy's buffer limit behaviour). */
export const maxRequestBodyBytes = 8 * 1024 * 1024;

function requestOf(req: IncomingMessage | Http2ServerRequest, body: Buffer, h2: boolean, secure: boolean): HttpRequest {
  const headers: HeaderList = [];
  let authority = '';
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === ':authority' || name === 'host') authority ||= value;
    else if (!name.startsWith(':') && !hopByHop.has(name)) headers.push([name, value]);
  }
  const scheme = secure ? 'https' : 'http';
  return {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    scheme: h2 ? String(req.headers[':scheme'] ?? scheme) : scheme,
    authority,
    headers,
    body,
  };
}

function writeResponse(
  res: ServerResponse | Http2ServerResponse,
  method: string,
  out: HttpResponse,
  closeConnection: boolean,
): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of out.headers) {
    if (hopByHop.has(name) || name === 'content-length' || name.startsWith(':')) continue;
    const prev = headers[name];
    headers[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  // The body is whole here, so its length is known; a HEAD answer keeps the upstream's.
  const upstreamLength = out.headers.find(([n]) => n === 'content-length')?.[1];
  headers['content-length'] =
    method === 'HEAD' && upstreamLength !== undefined ? upstreamLength : String(out.body.length);
  if (closeConnection) headers.connection = 'close';
  (res as ServerResponse).writeHead(out.status, headers);
  (res as ServerResponse).end(method === 'HEAD' ? undefined : out.body);
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
  private readonly http1 = createHttp1Server((req, res) => void this.serve(req, res, false));
  private readonly http2 = createHttp2Server((req, res) => void this.serve(req, res, true));

  constructor(handler: RequestHandler, tls?: ListenerTls) {
    this.handler = handler;
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
    });
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
    (socket.alpnProtocol === 'h2' ? this.http2 : this.http1).emit('connection', socket);
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.h2Sockets.delete(socket);
    });
    socket.once('readable', () => {
      const head = socket.read(Math.min(h2Preface.length, socket.readableLength)) as Buffer | null;
      if (!head) return socket.destroy();
      socket.unshift(head);
      const isH2 = head.length >= 3 && h2Preface.subarray(0, head.length).equals(head);
      if (isH2) this.h2Sockets.add(socket);
      (isH2 ? this.http2 : this.http1).emit('connection', socket);
    });
  }

  private async serve(
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
    h2: boolean,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxRequestBodyBytes) {
        writeResponse(
          res,
          req.method ?? 'GET',
          { status: 413, headers: [['content-type', 'text/plain']], body: Buffer.from('Payload Too Large') },
          !h2,
        );
        return;
      }
      chunks.push(chunk);
    }
    const socket = req.socket as Socket & Partial<Pick<TLSSocket, 'encrypted' | 'authorized' | 'getPeerCertificate'>>;
    const secure = socket.encrypted === true;
    const mtls = secure && socket.authorized === true && Object.keys(socket.getPeerCertificate?.() ?? {}).length > 0;
    let out: HttpResponse;
    try {
      out = await this.handler({
        request: requestOf(req, Buffer.concat(chunks), h2, secure),
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: socket.remotePort ?? 0,
        mtls,
      });
    } catch (err) {
      out = {
        status: 500,
        headers: [['content-type', 'text/plain']],
        body: Buffer.from(`devproxy internal error: ${(err as Error).message}`),
      };
    }
    if (!res.writableEnded && !res.destroyed) writeResponse(res, req.method ?? 'GET', out, this.closing && !h2);
  }
}
