// MessageLogging end to end: devproxy on xDS, a real extproc (its own background senders), the echo
// upstream and syslog receivers started here. A PostClientFlow step logs the request and the status
// over TCP to a receiver that does not read until the client has its response; the message then
// arrives, octet-counted, exactly as templated. A preFlow step logging to a target that accepts and
// never speaks (a TLS handshake that never ends) does not hold the client's response either. The
// DataPlane names 127.0.0.0/8 as a network callouts and log targets may reach.
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, pathReady, proxyYaml, send, startEcho, startStack, waitFor, type Stack } from './harness.ts';

let stack: Stack;
let echo: { server: HttpServer; port: number };
const servers: Server[] = [];
/** Sockets of the syslog receiver, paused until the test lets them be read. */
const held: Socket[] = [];
const received: string[] = [];
let silentConnections = 0;

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Octet-counted frames (RFC 6587 3.4.1) out of a byte stream. */
function frames(onMessage: (m: string) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const space = pending.indexOf(0x20);
      if (space < 0) return;
      const length = Number(pending.subarray(0, space).toString('ascii'));
      if (pending.length < space + 1 + length) return;
      onMessage(pending.subarray(space + 1, space + 1 + length).toString('utf8'));
      pending = pending.subarray(space + 1 + length);
    }
  };
}

beforeAll(async () => {
  const syslogPort = await listen(
    createNetServer((socket) => {
      socket.pause();
      held.push(socket);
      socket.on(
        'data',
        frames((m) => received.push(m)),
      );
    }),
  );
  const silentPort = await listen(
    createNetServer((socket) => {
      silentConnections += 1;
      socket.pause(); // reads nothing, answers nothing: the TLS handshake never completes
      held.push(socket);
    }),
  );
  [stack, echo] = await Promise.all([startStack(), startEcho()]);
  await stack.publish(`${proxyYaml({
    name: 'msglog-post-client',
    basePath: '/msglog-e2e',
    upstreamPort: echo.port,
    flows: 'flows: {postClientFlow: {response: [{policy: msglog-e2e-syslog}]}}',
  })}---
${proxyYaml({
  name: 'msglog-refused',
  basePath: '/msglog-e2e-refused',
  upstreamPort: echo.port,
  flows: 'flows: {postClientFlow: {response: [{policy: msglog-e2e-refused}]}}',
})}---
${proxyYaml({
  name: 'msglog-stalled',
  basePath: '/msglog-e2e-stalled',
  upstreamPort: echo.port,
  flows: 'flows: {preFlow: {request: [{policy: msglog-e2e-stalled}]}}',
})}---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: msglog-e2e-syslog, namespace: test}
spec:
  type: MessageLogging
  messageLogging:
    syslog:
      message: "{request.verb} {request.path} {response.status.code} id={request.header.x-id}"
      host: 127.0.0.1
      port: ${syslogPort}
      protocol: TCP
      formatMessage: true
    logLevel: WARN
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: msglog-e2e-stalled, namespace: test}
spec:
  type: MessageLogging
  messageLogging:
    syslog: {message: "{request.path}", host: 127.0.0.1, port: ${silentPort}, protocol: TCP, sslInfo: {enabled: true}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: msglog-e2e-refused, namespace: test}
spec:
  type: MessageLogging
  messageLogging:
    syslog: {message: "{request.path}", host: 10.255.255.1, port: 514, protocol: TCP}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: default, namespace: default}
spec:
  messageTimeout: 5s
  listeners: [{name: http, port: 8080, allowedRoutes: {namespaces: {from: All}}}]
  upstream: {calloutPrivateNetworks: [127.0.0.0/8]}
`);
  await pathReady(stack);
});

afterAll(async () => {
  // extproc first: its senders stop reconnecting, then the receivers can close.
  await stack?.close();
  for (const s of held) s.destroy();
  if (echo) await closeServer(echo.server);
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
});

/** A counter of the stack's extproc, as /metrics shows it. */
async function counter(name: string, labels = ''): Promise<number> {
  const text = await stack.extproc.server.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('MessageLogging through devproxy', () => {
  it('PostClientFlow logs to syslog over TCP; the client had its response before the receiver read a byte', async () => {
    const reply = await send(`${stack.baseUrl()}/msglog-e2e/orders`, { headers: { 'x-id': 'e2e-1' } });
    expect(reply.status).toBe(200);
    expect(received).toEqual([]);
    // The receiver reads only now.
    await waitFor(() => held.length > 0, 'the syslog connection', 30_000);
    for (const s of held) s.resume();
    await waitFor(() => received.length === 1, 'the syslog message', 30_000);
    expect(received[0]).toMatch(
      /^<12>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ gatehouse - - - GET \/msglog-e2e\/orders 200 id=e2e-1$/,
    );
    expect(await counter('gatehouse_messagelogging_sent_total')).toBeGreaterThanOrEqual(1);
  });

  it('a target in a private network the DataPlane does not list is refused and counted; the client is served', async () => {
    const reply = await send(`${stack.baseUrl()}/msglog-e2e-refused/x`);
    expect(reply.status).toBe(200);
    await expect
      .poll(() => counter('gatehouse_messagelogging_dropped_total', '{reason="refused"}'), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(1);
  });

  it('a log target that accepts and never answers does not hold the response of a request-flow step', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await send(`${stack.baseUrl()}/msglog-e2e-stalled/x${i}`);
      expect(reply.status).toBe(200);
    }
    await waitFor(() => silentConnections > 0, 'the sender to connect', 30_000);
  });
});
