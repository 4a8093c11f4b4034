// devproxy's data path through the real xDS server: routing by host and base path, rewrites, load
// balancing, timeouts, local replies, forwarding headers, h2c and upstream TLS.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, proxyYaml, send, startEcho, startStack, type Stack } from '../../e2e/dev/harness.ts';
import { localAddress } from './listener/request-headers.ts';

let stack: Stack;
let a: Awaited<ReturnType<typeof startEcho>>;
let b: Awaited<ReturnType<typeof startEcho>>;
let slow: Server;
let slowPort: number;
let deadPort: number;

beforeAll(async () => {
  stack = await startStack();
  a = await startEcho('a');
  b = await startEcho('b');
  slow = createServer((_req, res) => setTimeout(() => res.end('late'), 1500).unref());
  slow.listen(0, '127.0.0.1');
  await once(slow, 'listening');
  slowPort = (slow.address() as { port: number }).port;
  // A port nothing listens on: bind, note, close.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  deadPort = (probe.address() as { port: number }).port;
  await closeServer(probe);
  await stack.publish(
    [
      proxyYaml({ name: 'any-host', basePath: '/api', upstreamPort: a.port }),
      '---',
      proxyYaml({ name: 'named-host', basePath: '/named', hosts: ['api.example.com'], upstreamPort: b.port }),
      '---',
      proxyYaml({ name: 'deep', basePath: '/api/v2', upstreamPort: b.port }),
      '---',
      `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: prefixed, namespace: test}
spec:
  basePath: /pre
  target: {url: "http://127.0.0.1:${a.port}/backend"}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: keep, namespace: test}
spec:
  basePath: /keep
  target: {url: "http://127.0.0.1:${a.port}"}
  stripBasePath: false
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: balanced, namespace: test}
spec:
  basePath: /rr
  target:
    targets: [{url: "http://127.0.0.1:${a.port}"}, {url: "http://127.0.0.1:${b.port}"}]
    loadBalancer: {algorithm: RoundRobin}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: by-name, namespace: test}
spec:
  basePath: /dns
  target: {url: "http://localhost:${b.port}"}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: slow, namespace: test}
spec:
  basePath: /slow
  target: {url: "http://127.0.0.1:${slowPort}", timeout: 300ms}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: dead, namespace: test}
spec:
  basePath: /dead
  target: {url: "http://127.0.0.1:${deadPort}"}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: no-endpoints, namespace: test}
spec:
  basePath: /svc
  target: {service: {name: nothing, port: 80}}
`,
    ].join('\n'),
  );
});

afterAll(async () => {
  await stack.close();
  await Promise.all([closeServer(a.server), closeServer(b.server), closeServer(slow)]);
});

describe('routing', () => {
  it('picks the virtual host by Host, then the route by base path', async () => {
    const upstream = async (path: string, host?: string) => {
      const r = await send(`${stack.baseUrl()}${path}`, host ? { headers: { host } } : {});
      return r.headers['x-upstream'] ?? r.status;
    };
    expect(await upstream('/named/x', 'api.example.com')).toBe('b');
    expect(await upstream('/named/x', 'api.example.com:8080')).toBe('b');
    expect(await upstream('/named/x', 'other.example.com')).toBe(404);
    expect(await upstream('/named/x')).toBe(404);
    // Any-host proxies are served on every virtual host.
    expect(await upstream('/api/x', 'api.example.com')).toBe('a');
    expect(await upstream('/api/x', 'other.example.com')).toBe('a');
    expect(await upstream('/api/x')).toBe('a');
  });

  it('matches whole path segments, longest base path first, and 404s the rest', async () => {
    expect((await send(`${stack.baseUrl()}/api`)).echo?.path).toBe('/');
    expect((await send(`${stack.baseUrl()}/api/v2/items`)).headers['x-upstream']).toBe('b');
    expect((await send(`${stack.baseUrl()}/apix`)).status).toBe(404);
    expect((await send(`${stack.baseUrl()}/nothing`)).status).toBe(404);
  });

  it('rewrites the path as the route says: base path stripped, target path prefixed, query kept', async () => {
    expect((await send(`${stack.baseUrl()}/api/orders?page=2`)).echo?.path).toBe('/orders?page=2');
    expect((await send(`${stack.baseUrl()}/pre/items/7`)).echo?.path).toBe('/backend/items/7');
    expect((await send(`${stack.baseUrl()}/keep/items`)).echo?.path).toBe('/keep/items');
    expect((await send(`${stack.baseUrl()}/api//a/../orders`)).echo?.path).toBe('/orders');
  });

  it('as an edge proxy (use_remote_address): a new x-request-id, the peer appended to x-forwarded-for, the original path kept', async () => {
    const r = await send(`${stack.baseUrl()}/api/x`, {
      headers: { 'x-forwarded-for': '198.51.100.7', 'x-request-id': 'given-1' },
    });
    // ConnectionManagerUtility::mutateRequestHeaders: no address is internal without internal_address_config,
    // so the client's ID is replaced; a loopback peer is appended as the host's own address (localAddress()).
    expect(r.echo?.headers['x-request-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(r.echo?.headers['x-forwarded-for']).toBe(`198.51.100.7,${localAddress()}`);
    expect(r.echo?.headers['x-envoy-external-address']).toBe('127.0.0.1');
    expect(r.echo?.headers['x-envoy-original-path']).toBe('/api/x');
  });

  it('forwards method and body', async () => {
    const r = await send(`${stack.baseUrl()}/api/x`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(r.status, r.body).toBe(200);
    expect(r.echo).toMatchObject({ method: 'POST', body: 'hello' });
  });
});

describe('upstreams', () => {
  it('round-robins over the targets', async () => {
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await send(`${stack.baseUrl()}/rr/`)).headers['x-upstream']);
    expect(new Set([seen[0], seen[1]])).toEqual(new Set(['a', 'b']));
    expect(seen[2]).toBe(seen[0]);
    expect(seen[3]).toBe(seen[1]);
  });

  it('resolves STRICT_DNS targets by name', async () => {
    expect((await send(`${stack.baseUrl()}/dns/x`)).headers['x-upstream']).toBe('b');
  });

  it('answers 504 when the route timeout passes', async () => {
    const r = await send(`${stack.baseUrl()}/slow/`);
    expect(r.status).toBe(504);
    expect(r.body).toBe('upstream request timeout');
  });

  it('answers 503 when the upstream refuses the connection or the cluster has no endpoint', async () => {
    const dead = await send(`${stack.baseUrl()}/dead/`);
    expect(dead.status).toBe(503);
    expect(dead.body).toMatch(/^upstream connect error/);
    const none = await send(`${stack.baseUrl()}/svc/`);
    expect(none.status).toBe(503);
    expect(none.body).toBe('no healthy upstream');
  });

  it('serves h2c with prior knowledge on the same port', async () => {
    const session = connect(stack.baseUrl());
    const stream = session.request({ ':path': '/named/h2', ':authority': 'api.example.com' });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const [headers] = (await once(stream, 'response')) as [Record<string, string>];
    await once(stream, 'end');
    session.close();
    expect(headers[':status']).toBe(200);
    expect(headers['x-upstream']).toBe('b');
    expect((JSON.parse(Buffer.concat(chunks).toString()) as { path: string }).path).toBe('/h2');
  });
});
