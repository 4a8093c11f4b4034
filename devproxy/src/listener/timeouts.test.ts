// Bad clients and stalling upstreams through devproxy's real listener, with the compiled config edited
// to small timeouts, against a scripted ext_proc server: what Envoy v1.36 does when a stream goes idle
// (ActiveStream::onIdleTimeout, stream_idle_timeout), when the route timeout passes or the upstream
// stops after its headers (router.cc onResponseTimeout / onUpstreamReset -> onUpstreamAbort, then
// FilterManager::sendLocalReply: a local reply while a filter holds the response headers, else a
// reset), and when a connection has no stream (ConnectionManagerImpl::onIdleTimeout, then the drain).
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect as connectH2 } from 'node:http2';
import { connect as connectTcp, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { continueAll, startFakeExtProc, type FakeExtProc } from '../../../e2e/dev/fake-extproc.ts';
import { closeServer, hcmOf, publishEdited, send, startStack, type Stack } from '../../../e2e/dev/harness.ts';
import type { Snapshot } from '../../../operator/src/compile/compile.ts';

let fake: FakeExtProc;
let stack: Stack;
let upstream: Server;
let upstreamPort: number;
/** Responses the stalling upstream holds open, ended after each test. */
const held: ServerResponse[] = [];

/**
 * /x/before: never answers. /x/after: a 200 with content-length 100 and 7 bytes of it, then nothing.
 * /x/ok: a whole answer.
 */
function startStallingUpstream(): Promise<void> {
  upstream = createServer((req, res) => {
    if (req.url?.endsWith('/before')) return void held.push(res);
    if (req.url?.endsWith('/after')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial');
      held.push(res);
      return;
    }
    res.end('whole');
  });
  return new Promise((resolve) =>
    upstream.listen(0, '127.0.0.1', () => {
      upstreamPort = (upstream.address() as { port: number }).port;
      resolve();
    }),
  );
}

const manifests = (timeout: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  messageTimeout: 5s
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: plain, namespace: test}
spec:
  basePath: /plain
  target: {url: "http://127.0.0.1:${upstreamPort}", timeout: ${timeout}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: buffered, namespace: test}
spec:
  basePath: /buffered
  target: {url: "http://127.0.0.1:${upstreamPort}", timeout: ${timeout}}
  flows:
    preFlow: {response: [{policy: json-guard}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: json-guard, namespace: test}
spec:
  type: JSONThreatProtection
  jsonThreatProtection: {containerDepth: 10}
`;

/** Publishes with a route timeout and HCM fields set. */
const publish = (timeout: string, hcm: Record<string, unknown>) =>
  publishEdited(stack, manifests(timeout), (s: Snapshot) => {
    Object.assign(hcmOf(s), hcm);
  });

const port = () => Number(new URL(stack.baseUrl()).port);

/** Writes `text` on a fresh connection and reads everything until the server closes it. */
async function exchangeRaw(text: string): Promise<{ statusLine: string; head: string; body: string }> {
  const socket = connectTcp(port(), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(text);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  await once(socket, 'close');
  const all = Buffer.concat(chunks).toString('latin1');
  const at = all.indexOf('\r\n\r\n');
  const head = at < 0 ? all : all.slice(0, at);
  return { statusLine: head.split('\r\n')[0] ?? '', head: head.toLowerCase(), body: at < 0 ? '' : all.slice(at + 4) };
}

beforeAll(async () => {
  fake = await startFakeExtProc();
  await startStallingUpstream();
  stack = await startStack({ extProcPort: fake.port });
});

afterAll(async () => {
  await stack.close();
  await fake.close();
  await closeServer(upstream);
});

beforeEach(() => {
  fake.script = continueAll;
  for (const res of held.splice(0)) res.destroy();
});

describe('router.cc onResponseTimeout: the route timeout', () => {
  it('passes before the upstream answers: 504 `upstream request timeout`', async () => {
    await publish('300ms', {});
    const r = await send(`${stack.baseUrl()}/plain/before`);
    expect(r.status).toBe(504);
    expect(r.body).toBe('upstream request timeout');
  });

  it('passes after the headers went downstream (nothing holds them): the headers, the body so far, then the connection is reset', async () => {
    await publish('300ms', {});
    const r = await exchangeRaw('GET /plain/after HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(r.statusLine).toBe('HTTP/1.1 200 OK');
    expect(r.head).toContain('content-length: 100');
    expect(r.body).toBe('partial');
  });

  it('HTTP/2: after the headers went downstream, the body so far and then RST_STREAM NO_ERROR (reasonToReset: a local reset is NO_ERROR)', async () => {
    await publish('300ms', {});
    const session = connectH2(stack.baseUrl());
    try {
      const seen = await new Promise<{ status: unknown; length: unknown; body: string; rstCode: number | undefined }>(
        (resolve) => {
          const stream = session.request({ ':method': 'GET', ':path': '/plain/after' });
          let status: unknown;
          let length: unknown;
          let body = '';
          stream.on('response', (h) => {
            status = h[':status'];
            length = h['content-length'];
          });
          stream.on('data', (c: Buffer) => (body += c.toString()));
          stream.on('error', () => undefined);
          stream.on('close', () => resolve({ status, length, body, rstCode: stream.rstCode }));
        },
      );
      // 7 bytes of the 100 announced: the stream ended early, as Envoy's reset ends it.
      expect(seen).toEqual({ status: 200, length: '100', body: 'partial', rstCode: 0 });
    } finally {
      session.close();
    }
  });

  it('passes while ext_proc holds the headers for a buffered body: 504 `upstream request timeout` straight to the client (sendDirectLocalReply)', async () => {
    await publish('300ms', {});
    const r = await send(`${stack.baseUrl()}/buffered/after`);
    expect(r.status).toBe(504);
    expect(r.body).toBe('upstream request timeout');
    // The processor saw the response headers, never a body.
    const last = fake.streams.at(-1)!.messages.map((m) => m.request);
    expect(last).toContain('responseHeaders');
    expect(last).not.toContain('responseBody');
  });
});

describe('ActiveStream::onIdleTimeout: stream_idle_timeout', () => {
  it('a client that stops sending its body: 408 `stream timeout` and the connection closes', async () => {
    await publish('30s', { stream_idle_timeout: '0.300s' });
    const r = await exchangeRaw('POST /plain/ok HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nab');
    expect(r.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(r.head).toContain('connection: close');
    expect(r.body).toBe('stream timeout');
  });

  it('an upstream that goes quiet before its headers: 504 `stream timeout` (the request was complete)', async () => {
    await publish('30s', { stream_idle_timeout: '0.300s' });
    const r = await send(`${stack.baseUrl()}/plain/before`);
    expect(r.status).toBe(504);
    expect(r.body).toBe('stream timeout');
  });

  it('an upstream that goes quiet after its headers: reset after the body so far, or 504 while ext_proc holds them', async () => {
    await publish('30s', { stream_idle_timeout: '0.300s' });
    const cut = await exchangeRaw('GET /plain/after HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(cut.statusLine).toBe('HTTP/1.1 200 OK');
    expect(cut.body).toBe('partial');
    const held = await send(`${stack.baseUrl()}/buffered/after`);
    expect(held.status).toBe(504);
    expect(held.body).toBe('stream timeout');
  });

  it('is 5 minutes when unset: a slow upstream within it is waited for', async () => {
    await publish('30s', {});
    expect((await send(`${stack.baseUrl()}/plain/ok`)).body).toBe('whole');
  });
});

describe('ConnectionManagerImpl::onIdleTimeout: common_http_protocol_options.idle_timeout', () => {
  const idle = { common_http_protocol_options: { idle_timeout: '0.300s' }, drain_timeout: '0.100s' };

  /** Opens a connection and resolves with the milliseconds until the server closed it. */
  async function closesAfter(first?: string): Promise<{ ms: number; reply: string }> {
    const socket: Socket = connectTcp(port(), '127.0.0.1');
    await once(socket, 'connect');
    let reply = '';
    socket.on('data', (c: Buffer) => (reply += c.toString('latin1')));
    socket.on('error', () => undefined);
    const started = performance.now();
    if (first) socket.write(first);
    await once(socket, 'close');
    return { ms: performance.now() - started, reply };
  }

  it('a kept-alive connection with no stream is drained and closed', async () => {
    await publish('30s', idle);
    const { ms, reply } = await closesAfter('GET /plain/ok HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(reply).not.toMatch(/connection: close/i);
    expect(ms).toBeGreaterThanOrEqual(300 + 100 - 20);
  });

  it('HTTP/2: a GOAWAY at the idle timeout (shutdownNotice), the session closed after the drain', async () => {
    await publish('30s', idle);
    const session = connectH2(stack.baseUrl());
    const goaway = once(session, 'goaway');
    const closed = once(session, 'close');
    const status = await new Promise<unknown>((resolve) => {
      const stream = session.request({ ':method': 'GET', ':path': '/plain/ok' });
      stream.on('response', (h) => resolve(h[':status']));
      stream.resume();
    });
    expect(status).toBe(200);
    const [code] = (await goaway) as [number];
    expect(code).toBe(0);
    await closed;
  });

  it('a connection that never sends a byte is closed', async () => {
    await publish('30s', idle);
    const { reply } = await closesAfter();
    expect(reply).toBe('');
  });

  it('a stream in flight holds the connection open past the idle timeout', async () => {
    await publish('1s', idle);
    const r = await exchangeRaw('GET /plain/before HTTP/1.1\r\nhost: x\r\n\r\n');
    // The route timeout (1 s), not the idle timeout (300 ms), ended it.
    expect(r.statusLine).toBe('HTTP/1.1 504 Gateway Timeout');
  });
});

describe('request_headers_timeout (ActiveStream request_header_timer_)', () => {
  it('stops once the headers are in: a request that takes longer than it is answered by its own outcome, not 408', async () => {
    await publish('1s', { request_headers_timeout: '0.300s' });
    const r = await exchangeRaw('GET /plain/before HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(r.statusLine).toBe('HTTP/1.1 504 Gateway Timeout');
    expect(r.body).toBe('upstream request timeout');
  });
});
