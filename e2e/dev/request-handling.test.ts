// The edge's request handling before any policy runs (DataPlane spec.requests, compiled into the
// HttpConnectionManager; devproxy plays it as Envoy does, docs/architecture-devproxy.md): an escaped
// slash is refused by default, so `/api/a%2F..%2Fadmin` cannot mean one path to the route and another to
// the upstream; a header named with underscores is dropped, so an upstream that reads x_api_key as
// x-api-key never sees a header the policies did not; a client that is slow to send its headers is cut
// off.
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, proxyYaml, send, startEcho, startStack, type Stack } from './harness.ts';

let stack: Stack;
let echo: { server: Server; port: number };

const dataPlane = (requests: string) => `---
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: default, namespace: default}
spec: {messageTimeout: 5s, listeners: [{name: http, port: 8080, allowedRoutes: {namespaces: {from: All}}}]${requests}}
`;

beforeAll(async () => {
  [stack, echo] = await Promise.all([startStack(), startEcho()]);
});

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
});

describe('defaults: escaped slashes refused, underscore headers dropped', () => {
  beforeAll(async () => {
    await stack.publish(`${proxyYaml({ name: 'api', basePath: '/api', upstreamPort: echo.port })}${dataPlane('')}`);
  });

  it('a path with %2F or %5C is answered 400 and never reaches the upstream (REJECT_REQUEST)', async () => {
    for (const path of ['/api/a%2F..%2Fadmin', '/api/a%2fb', '/api/a%5C..%5Cadmin']) {
      const r = await send(`${stack.baseUrl()}${path}`);
      expect(r.status, path).toBe(400);
      expect(r.headers['x-upstream'], path).toBeUndefined();
    }
    expect((await send(`${stack.baseUrl()}/api/plain`)).status).toBe(200);
  });

  it("answers the operator's deep check itself, on any host, never reaching an upstream", async () => {
    for (const host of ['gatehouse-deep-check.invalid', 'api.bank.example']) {
      const r = await send(`${stack.baseUrl()}/.gatehouse/healthz`, { headers: { host } });
      expect(r.status, host).toBe(200);
      expect(r.body, host).toBe('ok');
      expect(r.headers['x-upstream'], host).toBeUndefined();
    }
  });

  it('a header named with an underscore is dropped before policies and the upstream (DROP_HEADER)', async () => {
    const r = await send(`${stack.baseUrl()}/api/x`, { headers: { x_api_key: 'smuggled', 'x-kept': 'yes' } });
    expect(r.status).toBe(200);
    expect(r.echo?.headers).not.toHaveProperty('x_api_key');
    expect(r.echo?.headers).toHaveProperty('x-kept', 'yes');
  });
});

describe('spec.requests set otherwise', () => {
  beforeAll(async () => {
    await stack.publish(
      `${proxyYaml({ name: 'api', basePath: '/api', upstreamPort: echo.port })}${dataPlane(
        ', requests: {escapedSlashes: KeepUnchanged, headersWithUnderscores: Allow, headersTimeout: 1s}',
      )}`,
    );
  });

  it('KeepUnchanged forwards the escaped path as it came; Allow keeps the header', async () => {
    const r = await send(`${stack.baseUrl()}/api/a%2Fb`, { headers: { x_tenant: 't1' } });
    expect(r.status).toBe(200);
    expect(r.echo?.path).toBe('/a%2Fb');
    expect(r.echo?.headers).toHaveProperty('x_tenant', 't1');
  });

  it('a client that has not finished its headers within headersTimeout is answered 408 and cut off', async () => {
    const { port } = new URL(stack.baseUrl());
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /api/slow HTTP/1.1\r\nhost: a\r\n');
    let reply = '';
    socket.on('data', (c: Buffer) => (reply += c.toString()));
    await once(socket, 'close');
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
  });
});
