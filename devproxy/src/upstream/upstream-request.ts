// One request to an upstream host over HTTP/1.1 (TLS when the cluster says so), within the cluster's
// connect timeout and the route's timeout, with Envoy's local replies when it fails: 503 when the
// connection fails or resets, 504 when the route timeout passes.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpRequest, HttpResponse } from '../http/message.ts';
import type { HeaderList } from '../config/model.ts';
import type { PickedHost } from './cluster-manager.ts';

/** Connection-scoped headers a proxy never forwards (RFC 9110 7.6.1). */
export const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'http2-settings',
]);

export function localReply(status: number, body: string, details: string): HttpResponse {
  return {
    status,
    headers: [
      ['content-type', 'text/plain'],
      ['x-devproxy-details', details],
    ],
    body: Buffer.from(body),
  };
}

function responseHeaders(raw: string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!hopByHop.has(name)) out.push([name, raw[i + 1]!]);
  }
  return out;
}

export function forward(target: PickedHost, req: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
  const tls = target.cluster.tls !== undefined;
  const headers = req.headers.filter(([n]) => !hopByHop.has(n) && n !== 'host' && n !== 'content-length');
  const body = req.body ?? Buffer.alloc(0);
  // HTTP/1.1 upstream: :authority becomes Host; the body is buffered, so it goes with a length.
  headers.push(['host', req.authority ?? target.host]);
  if (body.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(req.method))
    headers.push(['content-length', String(body.length)]);
  return new Promise<HttpResponse>((resolve) => {
    let settled = false;
    const settle = (res: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(routeTimer);
      target.release();
      resolve(res);
    };
    const outgoing = (tls ? httpsRequest : httpRequest)({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.path,
      headers: headers.flat(),
      agent: target.agent,
      setHost: false,
    });
    const routeTimer =
      timeoutMs > 0
        ? setTimeout(() => {
            settle(localReply(504, 'upstream request timeout', 'upstream_response_timeout'));
            outgoing.destroy();
          }, timeoutMs)
        : undefined;
    outgoing.on('socket', (socket) => {
      if (!socket.connecting) return;
      const connectTimer = setTimeout(() => {
        settle(
          localReply(
            503,
            'upstream connect error or disconnect/reset before headers. reset reason: connection timeout',
            'upstream_reset_before_response_started{connection_timeout}',
          ),
        );
        outgoing.destroy();
      }, target.cluster.connectTimeoutMs);
      socket.once(tls ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      socket.once('close', () => clearTimeout(connectTimer));
    });
    outgoing.on('error', (err) => {
      settle(
        localReply(
          503,
          `upstream connect error or disconnect/reset before headers. reset reason: ${err.message}`,
          'upstream_reset_before_response_started',
        ),
      );
    });
    outgoing.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () =>
        settle(localReply(503, 'upstream reset after response started', 'upstream_reset_after_response_started')),
      );
      res.on('end', () => {
        const trailers = responseHeaders(res.rawTrailers);
        settle({
          status: res.statusCode ?? 502,
          headers: responseHeaders(res.rawHeaders),
          body: Buffer.concat(chunks),
          ...(trailers.length > 0 ? { trailers } : {}),
        });
      });
    });
    outgoing.end(body);
  });
}
