// One request to an upstream host over HTTP/1.1 (TLS when the cluster says so), within the cluster's
// connect timeout and the route's timeout, framed as Envoy's HTTP/1 codec frames it: the request's
// content-length when it has one, else chunked when there is a body or trailers (trailers written
// after the last chunk), else `content-length: 0` for methods that may carry a body. Envoy's local
// replies when it fails: 503 when the connection fails or resets before the response, 504 when the
// route timeout (`upstream request timeout`) or the stream idle timeout (`stream timeout`) passes
// (router.cc onUpstreamReset / onUpstreamTimeoutAbort, conn_manager_impl.cc onIdleTimeout); after the
// response headers the response comes back cut (HttpResponse.cut).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { localReply } from '../http/local-reply.ts';
import { header, type HeaderList, type HttpRequest, type HttpResponse } from '../http/message.ts';
import type { PickedHost } from './cluster-manager.ts';

/** Connection-scoped headers: never forwarded on a new connection (RFC 9110 7.6.1). */
export const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * The most devproxy holds of one body it does not buffer for a filter. Envoy streams such bodies;
 * devproxy reads them whole, so it needs a bound of its own (well above any filter's buffer limit).
 */
export const maxUnbufferedBodyBytes = 64 * 1024 * 1024;

/** Request methods Envoy's HTTP/1 codec sends without `content-length: 0` when they have no body. */
const bodilessMethods = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

function headerList(raw: string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!hopByHop.has(name)) out.push([name, raw[i + 1]!]);
  }
  return out;
}

/**
 * Node's outgoing header object: several values of a name as an array, in order. (Node frames a
 * `transfer-encoding: chunked` body only when the headers come as an object.)
 */
export function toOutgoingHeaders(headers: HeaderList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const prev = out[name];
    out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return out;
}

/** Why a connection failed, as Envoy's reset reason and transport failure reason put it. */
function resetReason(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED')
    return 'remote connection failure, transport failure reason: delayed connect error: Connection refused';
  if (err.code === 'ECONNRESET') return 'connection termination';
  return `remote connection failure, transport failure reason: ${err.message}`;
}

/** The timers of one upstream request (0 disables each, as in Envoy). */
export interface UpstreamTimeouts {
  /** The route's timeout: from the request sent to the complete response (router.cc onResponseTimeout). */
  routeTimeoutMs: number;
  /** HCM stream_idle_timeout: no upstream activity for this long (ActiveStream::onIdleTimeout). */
  streamIdleTimeoutMs: number;
}

const upstreamRequestTimeout = { status: 504, body: 'upstream request timeout', details: 'upstream_response_timeout' };
const streamIdleTimeout = { status: 504, body: 'stream timeout', details: 'stream_idle_timeout' };

export function forward(target: PickedHost, req: HttpRequest, timeouts: UpstreamTimeouts): Promise<HttpResponse> {
  const tls = target.cluster.tls !== undefined;
  const headers = req.headers.filter(([n]) => !hopByHop.has(n) && n !== 'host');
  const body = req.body ?? Buffer.alloc(0);
  const trailers = req.trailers ?? [];
  // HTTP/1.1 upstream: :authority becomes Host.
  headers.unshift(['host', req.authority ?? target.host]);
  if (header(headers, 'content-length') === undefined) {
    if (body.length > 0 || trailers.length > 0) headers.push(['transfer-encoding', 'chunked']);
    else if (!bodilessMethods.has(req.method)) headers.push(['content-length', '0']);
  }
  return new Promise<HttpResponse>((resolve) => {
    let settled = false;
    /** The response so far, once its headers are in. */
    let started: { res: IncomingMessage; chunks: Buffer[] } | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    const settle = (res: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(routeTimer);
      clearTimeout(idleTimer);
      target.release();
      resolve(res);
    };
    /**
     * Filter::onUpstreamAbort: before the response headers, the local reply; after them, the headers
     * and what came of the body, cut (the connection manager decides between the reply and a reset).
     */
    const abort = (reply: { status: number; body: string; details: string }) => {
      settle(
        started
          ? {
              status: started.res.statusCode ?? 502,
              headers: headerList(started.res.rawHeaders),
              body: Buffer.concat(started.chunks),
              cut: reply,
            }
          : localReply(reply.status, reply.body, reply.details, { request: req }),
      );
      outgoing.destroy();
    };
    const outgoing = (tls ? httpsRequest : httpRequest)({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.path,
      headers: toOutgoingHeaders(headers),
      agent: target.agent,
      setHost: false,
    });
    const routeTimer =
      timeouts.routeTimeoutMs > 0
        ? setTimeout(() => abort(upstreamRequestTimeout), timeouts.routeTimeoutMs)
        : undefined;
    /** The stream idle timer restarts with every upstream event (resetIdleTimer). */
    const activity = () => {
      if (timeouts.streamIdleTimeoutMs <= 0 || settled) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => abort(streamIdleTimeout), timeouts.streamIdleTimeoutMs);
    };
    activity();
    outgoing.on('socket', (socket) => {
      if (!socket.connecting) return;
      const connectTimer = setTimeout(() => {
        settle(
          localReply(
            503,
            'upstream connect error or disconnect/reset before headers. reset reason: connection timeout',
            'upstream_reset_before_response_started{connection_timeout}',
            { request: req },
          ),
        );
        outgoing.destroy();
      }, target.cluster.connectTimeoutMs);
      socket.once(tls ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      socket.once('close', () => clearTimeout(connectTimer));
    });
    outgoing.on('error', (err: NodeJS.ErrnoException) => {
      const reason = resetReason(err);
      settle(
        localReply(
          503,
          `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`,
          `upstream_reset_before_response_started{${reason.replace(/\s/g, '_')}}`,
          { request: req },
        ),
      );
    });
    outgoing.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      started = { res, chunks };
      activity();
      let size = 0;
      res.on('data', (c: Buffer) => {
        activity();
        size += c.length;
        if (size > maxUnbufferedBodyBytes) {
          settle(
            localReply(
              502,
              `devproxy buffers at most ${maxUnbufferedBodyBytes} bytes of a response`,
              'devproxy_response_too_large',
              { request: req },
            ),
          );
          outgoing.destroy();
          return;
        }
        chunks.push(c);
      });
      // The upstream went away mid-body: onUpstreamReset, whose body says "before headers" whenever
      // it can still be sent (router.cc), with the late-reset details.
      const reset = () =>
        abort({
          status: 503,
          body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
          details: 'upstream_reset_after_response_started{connection_termination}',
        });
      res.on('error', reset);
      res.on('aborted', reset);
      res.on('end', () => {
        const responseTrailers = headerList(res.rawTrailers);
        settle({
          status: res.statusCode ?? 502,
          headers: headerList(res.rawHeaders),
          body: Buffer.concat(chunks),
          ...(responseTrailers.length > 0 ? { trailers: responseTrailers } : {}),
        });
      });
    });
    if (trailers.length > 0) {
      if (body.length > 0) outgoing.write(body);
      outgoing.addTrailers(trailers);
      outgoing.end();
    } else {
      outgoing.end(body);
    }
  });
}
