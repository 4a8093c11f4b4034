// devproxy's HttpConnectionManager over real HTTP, served over xDS with the compiled config (edited
// where a test needs a field the compiler does not emit), against a scripted ext_proc server: what
// Envoy v1.36 does to request headers (ConnectionManagerUtility::mutateRequestHeaders), paths
// (maybeNormalizePath), hosts (maybeNormalizeHost), its codecs' own replies, buffer limits, local
// replies and trailers. Tests are named after the Envoy function they follow.
import { once } from 'node:events';
import { connect as connectH2 } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { continueAll, startFakeExtProc, type FakeExtProc } from '../../../e2e/dev/fake-extproc.ts';
import {
  closeServer,
  hcmOf,
  publishEdited,
  send,
  startEcho,
  startStack,
  type Stack,
} from '../../../e2e/dev/harness.ts';
import type { Snapshot } from '../../../operator/src/compile/compile.ts';
import { localAddress } from './request-headers.ts';

let fake: FakeExtProc;
let stack: Stack;
let echo: Awaited<ReturnType<typeof startEcho>>;

const manifests = () => `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  messageTimeout: 5s
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: api, namespace: test}
spec:
  basePath: /api
  target: {url: "http://127.0.0.1:${echo.port}"}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: guarded, namespace: test}
spec:
  basePath: /guarded
  target: {url: "http://127.0.0.1:${echo.port}"}
  flows:
    preFlow: {request: [{policy: json-guard}], response: [{policy: json-guard}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: json-guard, namespace: test}
spec:
  type: JSONThreatProtection
  jsonThreatProtection: {containerDepth: 10}
`;

/** Publishes the manifests with the first listener's HCM (and the listener) edited. */
const withHcm = (fields: Record<string, unknown>, listener: Record<string, unknown> = {}) =>
  publishEdited(stack, manifests(), (s: Snapshot) => {
    Object.assign(hcmOf(s), fields);
    Object.assign(s.envoy.listeners[0] as Record<string, unknown>, listener);
  });

const port = () => Number(new URL(stack.baseUrl()).port);
const echoed = async (headers: Record<string, string> = {}, path = '/api/x') => {
  const r = await send(`${stack.baseUrl()}${path}`, { headers });
  if (!r.echo) throw new Error(`no echo: ${r.status} ${r.body}`);
  return r.echo.headers;
};

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `text` on a fresh connection and reads the reply until the server closes it. */
async function raw(text: string, host = '127.0.0.1'): Promise<RawReply> {
  const socket = connectTcp(port(), host);
  await once(socket, 'connect');
  socket.write(text);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'close');
  const all = Buffer.concat(chunks).toString('latin1');
  const [head = '', ...rest] = all.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

beforeAll(async () => {
  fake = await startFakeExtProc();
  echo = await startEcho();
  stack = await startStack({ extProcPort: fake.port });
  await stack.publish(manifests());
});

afterAll(async () => {
  await stack.close();
  await fake.close();
  await closeServer(echo.server);
});

beforeEach(async () => {
  fake.script = continueAll;
  fake.streams.length = 0;
  await stack.publish(manifests());
});

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('ConnectionManagerUtility::mutateRequestHeaders', () => {
  it('UUIDRequestIDExtension_set_edge_replaces_external_id: an edge request gets a new x-request-id', async () => {
    const headers = await echoed({ 'x-request-id': 'client-chosen' });
    expect(headers['x-request-id']).toMatch(uuid);
    expect(await echoed()).toMatchObject({ 'x-request-id': expect.stringMatching(uuid) as unknown });
  });

  it("UUIDRequestIDExtension_preserve_clears_trace_reason_byte14: preserve_external_request_id keeps the client's", async () => {
    await withHcm({ preserve_external_request_id: true });
    expect((await echoed({ 'x-request-id': 'client-chosen' }))['x-request-id']).toBe('client-chosen');
    expect((await echoed({ 'x-request-id': 'a1b2c3d4-e5f6-a7b8-9c0d-1e2f3a4b5c6d' }))['x-request-id']).toBe(
      'a1b2c3d4-e5f6-47b8-9c0d-1e2f3a4b5c6d',
    );
  });

  it('generate_request_id: false adds none', async () => {
    await withHcm({ generate_request_id: false });
    expect((await echoed())['x-request-id']).toBeUndefined();
  });

  it("use_remote_address: false: not an edge request; the client's ID and x-forwarded-for stay, x-forwarded-proto only fills in", async () => {
    await withHcm({ use_remote_address: false });
    const headers = await echoed({
      'x-request-id': 'client-chosen',
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-proto': 'https',
    });
    expect(headers).toMatchObject({
      'x-request-id': 'client-chosen',
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-proto': 'https',
    });
    expect(headers['x-envoy-external-address']).toBeUndefined();
  });

  it('internal_address_config covering the peer: an internal request keeps its ID and internal headers, and is marked x-envoy-internal', async () => {
    await withHcm({ internal_address_config: { cidr_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }] } });
    const headers = await echoed({ 'x-request-id': 'client-chosen', 'x-envoy-retry-on': '5xx' });
    expect(headers).toMatchObject({
      'x-request-id': 'client-chosen',
      'x-envoy-internal': 'true',
      'x-envoy-retry-on': '5xx',
    });
    expect(headers['x-envoy-external-address']).toBeUndefined();
    // With an x-forwarded-for the request is never internal (allow_trusted_address_checks).
    expect((await echoed({ 'x-forwarded-for': '10.0.0.1', 'x-request-id': 'client-chosen' }))['x-request-id']).not.toBe(
      'client-chosen',
    );
  });

  it("x-forwarded-for gets a loopback peer as the host's own address; x-forwarded-proto is overwritten; x-envoy-external-address is the peer", async () => {
    const headers = await echoed({
      'x-forwarded-for': '198.51.100.7, 203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-envoy-external-address': '1.2.3.4',
    });
    expect(headers['x-forwarded-for']).toBe(`198.51.100.7, 203.0.113.9,${localAddress()}`);
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-envoy-external-address']).toBe('127.0.0.1');
  });

  it("cleanInternalHeaders: Envoy's internal x-envoy-* headers and the route config's internal_only_headers go; other x-envoy-* stay", async () => {
    await publishEdited(stack, manifests(), (s) => {
      (s.envoy.routes[0] as Record<string, unknown>).internal_only_headers = ['x-gatehouse-secret'];
    });
    const sent = {
      'x-envoy-retry-on': '5xx',
      'x-envoy-max-retries': '3',
      'x-envoy-upstream-rq-timeout-ms': '1',
      'x-envoy-force-trace': '1',
      'x-envoy-decorator-operation': 'op',
      'x-envoy-ip-tags': 't',
      'x-envoy-internal': 'true',
      'x-gatehouse-secret': 's',
      'x-envoy-custom': 'kept',
    };
    const headers = await echoed(sent);
    for (const name of Object.keys(sent).filter((n) => n !== 'x-envoy-custom'))
      expect(headers[name], name).toBeUndefined();
    expect(headers['x-envoy-custom']).toBe('kept');
  });

  it('removes hop-by-hop and proxy headers and sanitises x-forwarded-client-cert', async () => {
    const headers = await echoed({
      'proxy-connection': 'keep-alive',
      'keep-alive': 'timeout=5',
      'x-forwarded-client-cert': 'By=spoofed',
    });
    expect(headers['proxy-connection']).toBeUndefined();
    expect(headers['keep-alive']).toBeUndefined();
    expect(headers['x-forwarded-client-cert']).toBeUndefined();
  });
});

describe('ConnectionManagerImpl::ActiveStream::decodeHeaders: path checks and maybeNormalizePath', () => {
  it('normalize_path then merge_slashes, before routing', async () => {
    const r = await send(`${stack.baseUrl()}/api//a/%2e%2e/b/./c`);
    expect(r.echo?.path).toBe('/b/c');
  });

  it('maybeNormalizePath_fragment_is_400 and canonicalPath_pct00_is_400: empty body, the connection closes', async () => {
    for (const path of ['/api/x#frag', '/api/x%00y']) {
      const r = await raw(`GET ${path} HTTP/1.1\r\nhost: a\r\n\r\n`);
      expect(r).toMatchObject({
        status: 400,
        body: '',
        headers: { 'content-length': '0', connection: 'close', server: 'envoy' },
      });
    }
    expect(fake.streams).toEqual([]); // never reaches ext_proc
  });

  it('a request target that is not a path: 404 (absolute_path_rejected)', async () => {
    expect((await raw('OPTIONS * HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n')).status).toBe(404);
  });

  it('path_with_escaped_slashes_action: REJECT_REQUEST 400, UNESCAPE_AND_REDIRECT 307 to the final path', async () => {
    await withHcm({ path_with_escaped_slashes_action: 'REJECT_REQUEST' });
    expect((await send(`${stack.baseUrl()}/api/a%2Fb`)).status).toBe(400);
    await withHcm({ path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT' });
    const r = await send(`${stack.baseUrl()}/api/a%2Fb?q=%2F`);
    expect(r).toMatchObject({ status: 307, body: '', headers: { location: '/api/a/b?q=%2F' } });
  });
});

describe('ConnectionManagerUtility::maybeNormalizeHost', () => {
  it('strip_trailing_host_dot and strip_any_host_port change the Host routed and forwarded', async () => {
    const host = { host: 'api.example.com.:8443' };
    expect((await echoed(host)).host).toBe('api.example.com.:8443');
    await withHcm({ strip_trailing_host_dot: true, strip_any_host_port: true });
    expect((await echoed(host)).host).toBe('api.example.com');
  });
});

describe('local replies (Utility::prepareLocalReply, ActiveStream::encodeHeaders)', () => {
  it('no route: 404, no body, content-length 0, server: envoy and a date', async () => {
    const r = await send(`${stack.baseUrl()}/nowhere`);
    expect(r).toMatchObject({ status: 404, body: '', headers: { 'content-length': '0', server: 'envoy' } });
    expect(r.headers['content-type']).toBeUndefined();
    expect(r.headers.date).toBeDefined();
  });

  it('proxied responses: server overwritten with server_name, x-envoy-upstream-service-time added; always_set_request_id_in_response', async () => {
    await withHcm({ server_name: 'gatehouse-edge', always_set_request_id_in_response: true });
    const r = await send(`${stack.baseUrl()}/api/x`);
    expect(r.headers.server).toBe('gatehouse-edge');
    expect(r.headers['x-envoy-upstream-service-time']).toMatch(/^\d+$/);
    expect(r.headers['x-request-id']).toBe(r.echo?.headers['x-request-id']);
  });
});

describe("the codecs' own replies", () => {
  it('headers_with_underscores_action: REJECT_REQUEST answers 400 Bad Request on HTTP/1; DROP_HEADER drops the header', async () => {
    await withHcm({ common_http_protocol_options: { headers_with_underscores_action: 'REJECT_REQUEST' } });
    const rejected = await send(`${stack.baseUrl()}/api/x`, { headers: { x_user: 'a' } });
    expect(rejected).toMatchObject({
      status: 400,
      body: 'Bad Request',
      headers: { 'content-type': 'text/plain', connection: 'close' },
    });
    await withHcm({ common_http_protocol_options: { headers_with_underscores_action: 'DROP_HEADER' } });
    const dropped = await echoed({ x_user: 'a', 'x-user': 'b' });
    expect(dropped).toMatchObject({ 'x-user': 'b' });
    expect(dropped.x_user).toBeUndefined();
  });

  it('HTTP/1.0 without accept_http_10: 426 Upgrade Required', async () => {
    const r = await raw('GET /api/x HTTP/1.0\r\nhost: a\r\n\r\n');
    expect(r).toMatchObject({ status: 426, body: 'Upgrade Required' });
    await withHcm({ http_protocol_options: { accept_http_10: true } });
    expect((await raw('GET /api/x HTTP/1.0\r\nhost: a\r\n\r\n')).status).toBe(200);
  });

  it('request_headers_timeout: 408 request header timeout, and the connection closes', async () => {
    await withHcm({ request_headers_timeout: '0.3s' });
    const r = await raw('GET /api/x HTTP/1.1\r\nhost: a\r\n'); // the headers never end
    expect(r).toMatchObject({ status: 408, body: 'request header timeout', headers: { connection: 'close' } });
  });

  it('an upgrade with no upgrade_configs: 403', async () => {
    expect(
      (await raw('GET /api/x HTTP/1.1\r\nhost: a\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n')).status,
    ).toBe(403);
  });

  it('more request headers than max_headers_count: 431', async () => {
    await withHcm({ common_http_protocol_options: { max_headers_count: 5 } });
    const many = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`x-h${i}`, '1']));
    expect((await send(`${stack.baseUrl()}/api/x`, { headers: many })).status).toBe(431);
  });
});

describe('buffer limits from the listener (per_connection_buffer_limit_bytes) and the HTTP/2 stream window', () => {
  it('a request body over the limit that ext_proc buffers: 413 Payload Too Large before ext_proc sees the body, the connection closes', async () => {
    await withHcm({}, { per_connection_buffer_limit_bytes: 64 });
    const body = JSON.stringify({ pad: 'x'.repeat(100) });
    const r = await send(`${stack.baseUrl()}/guarded/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(r).toMatchObject({
      status: 413,
      body: 'Payload Too Large',
      headers: { 'content-type': 'text/plain', connection: 'close' },
    });
    expect(fake.streams.flatMap((s) => s.messages).some((m) => m.request === 'requestBody')).toBe(false);
    // A route that does not buffer the body is not limited.
    expect((await send(`${stack.baseUrl()}/api/x`, { method: 'POST', body })).status).toBe(200);
  });

  it('a response body over the limit that ext_proc buffers: 500 Internal Server Error', async () => {
    await withHcm({}, { per_connection_buffer_limit_bytes: 64 });
    const r = await send(`${stack.baseUrl()}/guarded/x`);
    expect(r).toMatchObject({ status: 500, body: 'Internal Server Error' });
  });

  it('unset, the limit is 1 MiB (the compiler sets it explicitly)', async () => {
    await publishEdited(stack, manifests(), (s: Snapshot) => {
      const listener = s.envoy.listeners[0]!;
      expect(listener.per_connection_buffer_limit_bytes).toBeGreaterThan(1024 * 1024);
      delete listener.per_connection_buffer_limit_bytes;
    });
    const body = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) });
    const r = await send(`${stack.baseUrl()}/guarded/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(r.status).toBe(413);
    const small = JSON.stringify({ pad: 'x'.repeat(1000 * 1024) });
    expect(
      (
        await send(`${stack.baseUrl()}/guarded/x`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: small,
        })
      ).status,
    ).toBe(200);
  });

  it("HTTP/2: the stream's limit is http2_protocol_options.initial_stream_window_size", async () => {
    await withHcm(
      { http2_protocol_options: { initial_stream_window_size: 65535 } },
      { per_connection_buffer_limit_bytes: 64 },
    );
    const session = connectH2(stack.baseUrl());
    try {
      const post = (size: number) =>
        new Promise<number>((resolve, reject) => {
          const stream = session.request({
            ':method': 'POST',
            ':path': '/guarded/x',
            'content-type': 'application/json',
          });
          stream.on('response', (h) => resolve(Number(h[':status'])));
          stream.on('error', reject);
          stream.resume();
          stream.end(JSON.stringify({ pad: 'x'.repeat(size) }));
        });
      expect(await post(1000)).toBe(200); // over the listener's 64 bytes, within the stream window
      expect(await post(70_000)).toBe(413);
    } finally {
      session.close();
    }
  });
});

describe('trailers', () => {
  it('request trailers reach the upstream; its response trailers come back on HTTP/1.1 (chunked) and HTTP/2', async () => {
    const socket = connectTcp(port(), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'POST /api/t HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\nconnection: close\r\n\r\n5\r\nhello\r\n0\r\nx-checksum: abc\r\n\r\n',
    );
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    const text = Buffer.concat(chunks).toString();
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/transfer-encoding: chunked/i);
    expect(text).toMatch(/"x-checksum": "abc"/); // the upstream got the trailer
    expect(text).toMatch(/\r\n0\r\nx-checksum: abc\r\n\r\n$/); // and sent it back

    const session = connectH2(stack.baseUrl());
    try {
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/api/t' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'def' }));
        stream.on('trailers', (t: Record<string, unknown>) => resolve(t));
        stream.on('error', reject);
        stream.resume();
        stream.end('hello');
      });
      expect(trailers['x-checksum']).toBe('def');
    } finally {
      session.close();
    }
  });
});

describe('IPv6', () => {
  it("Filter::addAttributes: an IPv6 peer's source.address is [ip]:port; x-forwarded-for and x-envoy-external-address carry the bare address", async () => {
    const v6 = await startStack({ extProcPort: fake.port, bindHost: '::1' });
    try {
      await v6.publish(manifests());
      const r = await send(`${v6.baseUrl()}/api/x`);
      expect(r.echo?.headers['x-envoy-external-address']).toBe('::1');
      expect(r.echo?.headers['x-forwarded-for']).toBe(localAddress());
      const fields = fake.streams.at(-1)!.messages[0]!.attributes['envoy.filters.http.ext_proc']!.fields;
      expect(fields['source.address']!.stringValue).toMatch(/^\[::1\]:\d+$/);
    } finally {
      await v6.close();
    }
  });
});

describe('HCM fields devproxy does not play are rejected (NACK); their defaults are accepted', () => {
  it('request_timeout: 0s is the default (accepted); any other value is refused', async () => {
    await withHcm({
      request_timeout: '0s',
      stream_idle_timeout: '300s',
      common_http_protocol_options: { idle_timeout: '3600s' },
    });
    expect((await send(`${stack.baseUrl()}/api/x`)).status).toBe(200);
    await publishEdited(stack, manifests(), (s) => Object.assign(hcmOf(s), { request_timeout: '5s' }), 'nack');
    expect(stack.xds.registry.get(stack.nodeId)!.types.LDS!.lastNack?.message).toMatch(
      /request_timeout is not supported by devproxy/,
    );
  });
});
