// A refused ext_proc stream, as Envoy handles one (docs/operations.md#connection-age): an ext_proc
// server that answers a new stream with GOAWAY naming an earlier last stream (what extproc's
// --max-connection-age sends to a stream opened while its GOAWAY was on the way) refuses it; Envoy's
// AsyncClient has no retry for it (the GrpcService retry policy does not reach refused streams), so
// the ext_proc filter gets gRPC UNAVAILABLE and applies failure_mode_allow: 500 closed, the upstream
// open. devproxy must do the same, and not start the stream again (grpc-js would, once).
import {
  createServer,
  constants,
  type Http2Session,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, send, startEcho, startStack, type Stack } from '../../../e2e/dev/harness.ts';
import { envoyGrpcClientOptions } from './ext-proc-filter.ts';

/**
 * An HTTP/2 server that refuses every stream, in one of the two ways a server says "not processed"
 * (RFC 9113 section 8.7): 'reset' answers RST_STREAM(REFUSED_STREAM); 'goaway' holds each
 * connection's first stream and answers the next with GOAWAY naming the first as the last stream
 * (what extproc's --max-connection-age sends to a stream opened while its GOAWAY was on the way),
 * then refuses the held one too. Node would make a GOAWAY naming stream 0 name the last stream
 * received, so the GOAWAY case needs two streams on one connection.
 */
async function startRefusingServer() {
  let streams = 0;
  let mode: 'reset' | 'goaway' = 'reset';
  const sessions = new Set<ServerHttp2Session>();
  const held = new Map<Http2Session, ServerHttp2Stream>();
  const server = createServer();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  server.on('stream', (stream) => {
    streams++;
    stream.on('error', () => undefined);
    const session = stream.session!;
    if (mode === 'reset') {
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const first = held.get(session);
    if (!first) {
      held.set(session, stream);
      return;
    }
    session.goaway(constants.NGHTTP2_NO_ERROR, first.id);
    first.close(constants.NGHTTP2_REFUSED_STREAM);
    session.close();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    streams: () => streams,
    setMode: (m: 'reset' | 'goaway') => (mode = m),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const manifests = (failureMode: 'FailClosed' | 'FailOpen', echoPort: number) => `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  failureMode: ${failureMode}
  messageTimeout: 10s
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: refused, namespace: test}
spec:
  basePath: /refused
  target: {url: "http://127.0.0.1:${echoPort}"}
`;

let refusing: Awaited<ReturnType<typeof startRefusingServer>>;
let echo: Awaited<ReturnType<typeof startEcho>>;
let stack: Stack;

beforeAll(async () => {
  refusing = await startRefusingServer();
  echo = await startEcho();
  stack = await startStack({ extProcPort: refusing.port });
});

afterAll(async () => {
  await stack.close();
  await refusing.close();
  await closeServer(echo.server);
});

describe('a refused ext_proc stream', () => {
  it('turns off every grpc-js retry on the ext_proc client', () => {
    expect(envoyGrpcClientOptions).toMatchObject({ 'grpc.enable_retries': 0 });
  });

  it('fails closed with 500 and is not started again', async () => {
    await stack.publish(manifests('FailClosed', echo.port));
    refusing.setMode('reset');
    const before = refusing.streams();
    const r = await send(`${stack.baseUrl()}/refused/a`);
    expect(r.status).toBe(500);
    expect(r.headers['x-upstream']).toBeUndefined();
    expect(refusing.streams() - before).toBe(1);
  });

  it('with failure_mode_allow, carries on to the upstream, still without a second stream', async () => {
    await stack.publish(manifests('FailOpen', echo.port));
    refusing.setMode('reset');
    const before = refusing.streams();
    const r = await send(`${stack.baseUrl()}/refused/a`);
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream']).toBe('echo');
    expect(refusing.streams() - before).toBe(1);
  });

  it('past the last stream of a GOAWAY: refused, failureMode applied, nothing started again', async () => {
    await stack.publish(manifests('FailClosed', echo.port));
    refusing.setMode('goaway');
    const before = refusing.streams();
    // Two requests at once: two streams on one connection, the second past the GOAWAY's last stream.
    const [a, b] = await Promise.all([send(`${stack.baseUrl()}/refused/a`), send(`${stack.baseUrl()}/refused/b`)]);
    expect([a.status, b.status]).toEqual([500, 500]);
    expect(refusing.streams() - before).toBe(2);
  });

  it('keeps serving: each request gets its own stream and its own verdict', async () => {
    await stack.publish(manifests('FailClosed', echo.port));
    refusing.setMode('reset');
    const before = refusing.streams();
    for (let i = 0; i < 3; i++) expect((await send(`${stack.baseUrl()}/refused/${i}`)).status).toBe(500);
    expect(refusing.streams() - before).toBe(3);
  });
});
