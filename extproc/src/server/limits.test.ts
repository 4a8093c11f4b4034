// The stream bounds of limits.ts, over real gRPC: headers per message, idle streams, streams per
// process and per connection, and the body bytes all streams may hold. Every wait is for a condition.
import { connect } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createExtProcClient,
  statusNumber,
  type ExternalProcessorClient,
} from '../../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange as runExchange, type ExchangeOptions } from '../../../devproxy/src/ext-proc/exchange.ts';
import { header, type HttpRequest } from '../../../devproxy/src/http/message.ts';
import type { ProcessingRequest } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import { testCatalog, testSnapshot } from './fixtures.test-support.ts';
import { startTestServer, type TestServer } from './test-server.test-support.ts';
import type { StreamLimits } from './limits.ts';
import { TRANSPORTS } from './transport.ts';

describe.each(TRANSPORTS)('over %s', (transport) => {
  const servers: TestServer[] = [];
  const clients: ExternalProcessorClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  async function serve(
    limits: Partial<StreamLimits>,
  ): Promise<{ server: TestServer; client: ExternalProcessorClient }> {
    const server = await startTestServer({ transport, snapshot: testSnapshot(), catalog: testCatalog, limits });
    const client = createExtProcClient(server.address);
    servers.push(server);
    clients.push(client);
    return { server, client };
  }

  /** Envoy's side of one request; message_timeout generous: these tests are about limits, not speed. */
  const runExtProcExchange = (o: ExchangeOptions) => runExchange({ timeoutMs: 30_000, ...o });

  async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
    while (!(await condition())) await new Promise((r) => setTimeout(r, 5));
  }

  const errorCode = (body: Buffer) =>
    (JSON.parse(body.toString()) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;
  const headerMap = (pairs: Array<[string, string]>) => ({
    headers: pairs.map(([key, value]) => ({ key, rawValue: Buffer.from(value) })),
  });

  /** A stream held open by the test: write messages, read replies one by one, see how it ended. */
  function open(client: ExternalProcessorClient, route: string) {
    const metadata = new grpc.Metadata();
    metadata.set('x-gatehouse-route', route);
    const call = client.process(metadata);
    const replies: ProcessingResponse__Output[] = [];
    call.on('data', (r: ProcessingResponse__Output) => replies.push(r));
    call.on('error', () => undefined);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    return {
      call,
      replies,
      status,
      send: (m: ProcessingRequest) => call.write(m),
      /** Waits for the n-th reply (1-based). */
      reply: async (n: number) => {
        await until(() => replies.length >= n);
        return replies[n - 1]!;
      },
    };
  }

  const postHeaders = (length?: number, path = '/body'): ProcessingRequest => ({
    requestHeaders: {
      headers: headerMap([
        [':method', 'POST'],
        [':path', path],
        ['content-type', 'application/json'],
        ...(length === undefined ? [] : ([['content-length', String(length)]] as Array<[string, string]>)),
      ]),
      endOfStream: false,
    },
  });

  describe('headers per message (Envoy: max_headers_count 100, max_request_headers_kb 60)', () => {
    let client: ExternalProcessorClient;
    beforeAll(async () => ({ client } = await serve({ maxHeadersCount: 10, maxHeadersBytes: 300 })));
    const get = (headers: Array<[string, string]>): HttpRequest => ({ method: 'GET', path: '/headers', headers });
    const ok = () => ({ status: 200, headers: [] as Array<[string, string]>, body: Buffer.alloc(0) });

    it('answers request headers over the count or the size with 431 gatehouse.RequestHeadersTooLarge', async () => {
      const many = Array.from({ length: 7 }, (_, i): [string, string] => [`x-h${i}`, 'v']); // + 4 pseudo-headers
      const tooMany = await runExtProcExchange({ client, route: 'shop/headers', request: get(many), upstream: ok });
      expect(tooMany.response.status).toBe(431);
      expect(errorCode(tooMany.response.body)).toBe('gatehouse.RequestHeadersTooLarge');
      expect(tooMany.upstreamRequest).toBeUndefined();
      const fits = await runExtProcExchange({
        client,
        route: 'shop/headers',
        request: get(many.slice(1)),
        upstream: ok,
      });
      expect(fits.response.status).toBe(200);
      const big = await runExtProcExchange({
        client,
        route: 'shop/headers',
        request: get([['x-big', 'v'.repeat(300)]]),
        upstream: ok,
      });
      expect(big.response.status).toBe(431);
      expect(JSON.parse(big.response.body.toString())).toMatchObject({
        fault: { faultstring: expect.stringMatching(/bytes of headers, max 300/) as unknown },
      });
    });

    it('answers response headers or request trailers over the limits too', async () => {
      const response = await runExtProcExchange({
        client,
        route: 'shop/headers',
        request: get([]),
        upstream: () => ({
          status: 200,
          headers: Array.from({ length: 12 }, (_, i): [string, string] => [`x-r${i}`, 'v']),
          body: Buffer.alloc(0),
        }),
      });
      expect(response.response.status).toBe(502);
      expect(errorCode(response.response.body)).toBe('gatehouse.ResponseHeadersTooLarge');
      const trailers = await runExtProcExchange({
        client,
        route: 'shop/size',
        mode: { requestBodyMode: 'BUFFERED', requestTrailerMode: 'SEND' },
        request: {
          method: 'PUT',
          path: '/size',
          headers: [],
          body: Buffer.from('abc'),
          trailers: Array.from({ length: 11 }, (_, i): [string, string] => [`x-t${i}`, 'v']),
        },
        upstream: ok,
      });
      expect(trailers.response.status).toBe(431);
    });
  });

  describe('idle streams', () => {
    it('ends a stream with no message for the idle timeout with DEADLINE_EXCEEDED, and forgets it', async () => {
      const { server, client } = await serve({ streamIdleTimeoutMs: 100 });
      const stream = open(client, 'shop/body');
      stream.send(postHeaders(10)); // the flow waits for a body that never comes
      await stream.reply(1);
      const status = await stream.status;
      expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      await until(() => server.server.activeStreams() === 0);
      expect(server.server.bufferedBodyBytes()).toBe(0);
      const outcomes = (await server.server.metrics.streams.get()).values;
      expect(outcomes.find((v) => v.labels.outcome === 'idle_timeout')?.value).toBe(1);
    });
  });

  describe('streams per process and per connection', () => {
    it('refuses streams past --max-streams with RESOURCE_EXHAUSTED, and takes new ones once some end', async () => {
      const { server, client } = await serve({ maxStreams: 3 });
      const held = [open(client, 'shop/body'), open(client, 'shop/body'), open(client, 'shop/body')];
      for (const s of held) s.send(postHeaders(2));
      await Promise.all(held.map((s) => s.reply(1)));
      expect(server.server.activeStreams()).toBe(3);
      const refused = open(client, 'shop/body');
      refused.send(postHeaders(2));
      const status = await refused.status;
      expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(status.details).toMatch(/--max-streams/);
      expect(refused.replies).toEqual([]);
      held[0]!.call.end();
      await held[0]!.status;
      await until(() => server.server.activeStreams() === 2);
      const next = open(client, 'shop/body');
      next.send(postHeaders(2));
      expect((await next.reply(1)).response).toBe('requestHeaders');
      for (const s of [...held.slice(1), next]) s.call.end();
      await until(() => server.server.activeStreams() === 0);
    });

    it('announces --max-connection-streams in its HTTP/2 SETTINGS', async () => {
      const { server } = await serve({ maxConnectionStreams: 7 });
      const session = connect(`http://${server.address}`);
      try {
        const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
          session.once('remoteSettings', resolve),
        );
        expect(settings.maxConcurrentStreams).toBe(7);
      } finally {
        session.close();
      }
    });
  });

  describe('body bytes held by all streams', () => {
    it('reserves a declared body at the headers, refusing one that does not fit with 503 before Envoy sends it', async () => {
      const { server, client } = await serve({ maxBufferedBodyBytes: 1000, maxBodyBytes: 1024 });
      const first = open(client, 'shop/body');
      first.send(postHeaders(800));
      await first.reply(1);
      expect(server.server.bufferedBodyBytes()).toBe(800);

      const second = open(client, 'shop/body');
      second.send(postHeaders(400));
      const refusal = (await second.reply(1)).immediateResponse!;
      expect(statusNumber(refusal.status!.code)).toBe(503);
      expect(errorCode(refusal.body)).toBe('gatehouse.BodyBufferFull');
      expect(refusal.headers!.setHeaders.map((h) => [h.header!.key, h.header!.rawValue.toString()])).toContainEqual([
        'retry-after',
        '1',
      ]);
      await second.status;

      first.send({ requestBody: { body: Buffer.from(JSON.stringify({ pad: 'x'.repeat(780) })), endOfStream: true } });
      expect((await first.reply(2)).response).toBe('requestBody');
      first.call.end();
      await until(() => server.server.bufferedBodyBytes() === 0 && server.server.activeStreams() === 0);
    });

    it('counts chunks of a body without content-length as they come', async () => {
      const { server, client } = await serve({ maxBufferedBodyBytes: 1000, maxBodyBytes: 4096 });
      const result = await runExtProcExchange({
        client,
        route: 'shop/size',
        mode: { requestBodyMode: 'STREAMED' },
        chunkBytes: 600,
        request: { method: 'PUT', path: '/size', headers: [], body: Buffer.alloc(1500) },
        upstream: () => ({ status: 200, headers: [], body: Buffer.alloc(0) }),
      });
      expect(result.response.status).toBe(503);
      expect(header(result.response.headers, 'retry-after')).toBe('1');
      expect(result.replies.map((r) => r.response)).toEqual(['requestHeaders', 'requestBody', 'immediateResponse']);
      await until(() => server.server.bufferedBodyBytes() === 0);
      const fits = await runExtProcExchange({
        client,
        route: 'shop/size',
        mode: { requestBodyMode: 'STREAMED' },
        chunkBytes: 600,
        request: { method: 'PUT', path: '/size', headers: [], body: Buffer.alloc(900) },
        upstream: () => ({ status: 200, headers: [], body: Buffer.alloc(0) }),
      });
      expect(fits.response.status).toBe(200);
    });
  });
});
