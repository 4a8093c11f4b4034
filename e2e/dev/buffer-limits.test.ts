// Buffer limits end to end: the compiled listener and HTTP/2 stream window (streamBufferLimitBytes)
// against extproc's --max-body-bytes, through devproxy playing Envoy's FilterManager limits
// (ActiveStreamDecoderFilter::requestDataTooLarge, ActiveStreamEncoderFilter::responseDataTooLarge;
// docs/architecture-devproxy.md). A BUFFERED body over extproc's limit but within Envoy's gets
// extproc's documented fault; only beyond Envoy's limit does Envoy's own plain-text reply appear.
import { request, type Server } from 'node:http';
import { connect } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds } from '../../operator/src/api/kinds.ts';
import { streamBufferLimitBytes } from '../../operator/src/compile/envoy/listeners.ts';
import { DEFAULT_MAX_BODY_BYTES, envoyStreamBufferLimitBytes } from '../../extproc/src/server/server.ts';
import { closeServer, proxyYaml, startEcho, startStack, type Stack } from './harness.ts';

const policyKind = kinds.find((k) => k.shortNames.includes('ghpolicy'))!.kind;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A POST over HTTP/1.1, with content-length or (chunked) without it. */
function post(url: string, body: Buffer, chunked: boolean): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': body.length }) };
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    // The server may answer and close before the whole body is sent (Envoy's 413): that is a reply.
    req.on('error', reject);
    if (chunked) {
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}

/** A POST over HTTP/2 (prior knowledge). */
function postH2(base: string, path: string, body: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const session = connect(base);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json' });
    let status = 0;
    let headers: Reply['headers'] = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('close', () => {
      session.close();
      resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8') });
    });
    stream.on('error', () => undefined);
    stream.end(body);
  });
}

/** A JSON string of about `bytes` bytes. */
const jsonOf = (bytes: number) => Buffer.from(JSON.stringify('x'.repeat(bytes - 2)));
const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

let stack: Stack;
let echo: { server: Server; port: number };
const between = (DEFAULT_MAX_BODY_BYTES + streamBufferLimitBytes) / 2;
const beyond = streamBufferLimitBytes + 512 * 1024;

beforeAll(async () => {
  [stack, echo] = await Promise.all([startStack(), startEcho()]);
  const policy = (name: string, spec: string) =>
    `apiVersion: gatehouse.dev/v1alpha1\nkind: ${policyKind}\nmetadata: {name: ${name}, namespace: test}\nspec: ${spec}\n`;
  await stack.publish(
    [
      proxyYaml({
        name: 'in',
        basePath: '/in',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: guard}]}}',
      }),
      proxyYaml({
        name: 'out',
        basePath: '/out',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {response: [{policy: guard}]}}',
      }),
      policy('guard', '{type: JSONThreatProtection, jsonThreatProtection: {containerDepth: 3}}'),
    ].join('---\n'),
  );
});

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
});

describe('FilterManager buffer limits against extproc --max-body-bytes', () => {
  it('the compiled limit lies above extproc max-body-bytes, and extproc receives messages of that size', () => {
    expect(streamBufferLimitBytes).toBeGreaterThan(DEFAULT_MAX_BODY_BYTES);
    expect(envoyStreamBufferLimitBytes).toBe(streamBufferLimitBytes);
  });

  it.each([
    ['with content-length', false],
    ['chunked', true],
  ])(
    'a request body between the two limits (%s) reaches extproc: 413 gatehouse.PayloadTooLarge',
    async (_, chunked) => {
      const r = await post(`${stack.baseUrl()}/in/x`, jsonOf(between), chunked);
      expect(r.status).toBe(413);
      expect(r.headers['content-type']).toBe('application/json');
      expect(errorCode(r.body)).toBe('gatehouse.PayloadTooLarge');
    },
  );

  it("ActiveStreamDecoderFilter::requestDataTooLarge: beyond the compiled limit, Envoy's own 413 and the connection closes", async () => {
    const r = await post(`${stack.baseUrl()}/in/x`, jsonOf(beyond), true);
    expect(r.status).toBe(413);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.body).toBe('Payload Too Large');
    expect(r.headers.connection).toBe('close');
  });

  it('HTTP/2: the stream window is the same limit (initial_stream_window_size)', async () => {
    const within = await postH2(stack.baseUrl(), '/in/x', jsonOf(between));
    expect(within.status).toBe(413);
    expect(errorCode(within.body)).toBe('gatehouse.PayloadTooLarge');
    const over = await postH2(stack.baseUrl(), '/in/x', jsonOf(beyond));
    expect(over.status).toBe(413);
    expect(over.body).toBe('Payload Too Large');
  });

  it('a response body between the two limits reaches extproc: 502 gatehouse.ResponseTooLarge', async () => {
    // The echo upstream answers with the request body inside its JSON; the request body is not buffered.
    const r = await post(`${stack.baseUrl()}/out/x`, jsonOf(between - 4096), false);
    expect(r.status).toBe(502);
    expect(errorCode(r.body)).toBe('gatehouse.ResponseTooLarge');
  });

  it("ActiveStreamEncoderFilter::responseDataTooLarge: beyond the compiled limit, Envoy's own 500", async () => {
    const r = await post(`${stack.baseUrl()}/out/x`, jsonOf(beyond), false);
    expect(r.status).toBe(500);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.body).toBe('Internal Server Error');
  });
});
