import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtProcClient, type ExternalProcessorClient } from '../../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange, type ExchangeOptions } from '../../../devproxy/src/ext-proc/exchange.ts';
import { header, type HttpRequest, type HttpResponse } from '../../../devproxy/src/http/message.ts';
import { defaultMutationRules } from '../../../devproxy/src/ext-proc/mutation-rules.ts';
import { RE2JS } from 're2js';
import { testCatalog, testSnapshot, waiting } from './fixtures.test-support.ts';
import { startTestServer, type TestServer } from './test-server.test-support.ts';
import { TRANSPORTS } from './transport.ts';

describe.each(TRANSPORTS)('over %s', (transport) => {
  let server: TestServer;
  let client: ExternalProcessorClient;

  beforeAll(async () => {
    server = await startTestServer({ transport, snapshot: testSnapshot(), catalog: testCatalog, maxBodyBytes: 1024 });
    client = createExtProcClient(server.address);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  /** The error code of a fault response body. */
  const errorCode = (body: Buffer) =>
    (JSON.parse(body.toString()) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;
  const get = (path: string, headers: Array<[string, string]> = []): HttpRequest => ({
    method: 'GET',
    path,
    authority: 'api.test',
    headers,
  });
  const post = (path: string, body: unknown): HttpRequest => {
    const text = JSON.stringify(body);
    return {
      method: 'POST',
      path,
      authority: 'api.test',
      headers: [
        ['content-type', 'application/json'],
        ['content-length', String(text.length)],
      ],
      body: Buffer.from(text),
    };
  };
  const okUpstream = (body = '', headers: Array<[string, string]> = []) => {
    const seen: HttpRequest[] = [];
    const upstream = (req: HttpRequest): HttpResponse => {
      seen.push(req);
      return { status: 200, headers: [['content-type', 'application/json'], ...headers], body: Buffer.from(body) };
    };
    return { seen, upstream };
  };
  const exchange = (o: Omit<ExchangeOptions, 'client'>) => runExtProcExchange({ client, timeoutMs: 30_000, ...o });
  const activeStreams = async () => (await server.server.metrics.activeStreams.get()).values[0]?.value ?? 0;
  const until = async (condition: () => boolean | Promise<boolean>) => {
    while (!(await condition())) await new Promise((r) => setTimeout(r, 5));
  };
  /** Waits for every stream to be over (the test's timeout bounds it). */
  const settle = () => until(async () => (await activeStreams()) === 0);

  describe('headers-only exchange', () => {
    it('applies request and response header mutations with raw_value and answers each message once', async () => {
      const { seen, upstream } = okUpstream('{}', [['x-internal', 'secret']]);
      const result = await exchange({
        route: 'shop/headers',
        request: get('/headers/a?b=1', [
          ['x-internal', 'drop-me'],
          ['accept', 'a'],
        ]),
        upstream,
        connection: { sourceAddress: '10.0.0.7:51234', requestId: 'req-42', mtls: false, routeName: 'r' },
      });
      expect(result.failure).toBeUndefined();
      expect(result.violations).toEqual([]);
      expect(result.spurious).toEqual([]);
      expect(result.replies.map((r) => r.response)).toEqual(['requestHeaders', 'responseHeaders']);
      const up = seen[0]!;
      expect(header(up.headers, 'x-added')).toBe('yes');
      expect(header(up.headers, 'x-internal')).toBeUndefined();
      expect(header(up.headers, 'x-client-ip')).toBe('10.0.0.7');
      expect(header(up.headers, 'x-message-id')).toBe('req-42');
      expect(header(up.headers, 'x-env')).toBe('eu-west');
      expect(header(up.headers, 'accept')).toBe('a');
      expect(header(result.response.headers, 'x-served-by')).toBe('gatehouse 200');
      expect(header(result.response.headers, 'x-internal')).toBeUndefined();
      const set = result.replies[0]!.requestHeaders!.response!.headerMutation!.setHeaders;
      expect(set.every((o) => o.header!.value === '' && o.header!.rawValue.length > 0)).toBe(true);
      expect(result.replies[0]!.requestHeaders!.response!.status).toBe('CONTINUE');
    });

    it('strips the port of an IPv6 peer', async () => {
      const { seen, upstream } = okUpstream();
      await exchange({
        route: 'shop/headers',
        request: get('/headers'),
        upstream,
        connection: { sourceAddress: '[2001:db8::1]:443' },
      });
      expect(header(seen[0]!.headers, 'x-client-ip')).toBe('2001:db8::1');
    });

    it('ends normally when the mode sends no response phase (half-close after the request)', async () => {
      const { upstream } = okUpstream();
      const result = await exchange({
        route: 'shop/headers',
        mode: { responseHeaderMode: 'SKIP' },
        request: get('/headers'),
        upstream,
      });
      expect(result.replies.map((r) => r.response)).toEqual(['requestHeaders']);
      await settle();
      expect(await activeStreams()).toBe(0);
    });
  });

  describe('immediate responses', () => {
    it('answers a fault with an ImmediateResponse in the docs/architecture.md#the-envoy-and-extproc-contract body format and sends nothing after it', async () => {
      const { seen, upstream } = okUpstream();
      const result = await exchange({ route: 'shop/deny', request: get('/deny'), upstream });
      expect(seen).toHaveLength(0);
      expect(result.response.status).toBe(403);
      expect(header(result.response.headers, 'content-type')).toBe('application/json');
      expect(JSON.parse(result.response.body.toString())).toEqual({
        fault: { faultstring: 'Access Denied for client ip', detail: { errorcode: 'accesscontrol.IPDeniedAccess' } },
      });
      expect(result.immediateDetails).toBe('gatehouse_fault{accesscontrol.IPDeniedAccess}');
      expect(result.spurious).toEqual([]);
    });

    it('answers an unknown or missing route with 404 gatehouse.RouteNotFound', async () => {
      const { upstream } = okUpstream();
      for (const route of ['shop/nope', undefined]) {
        const result = await exchange({ route, request: get('/x'), upstream });
        expect(result.response.status).toBe(404);
        expect(errorCode(result.response.body)).toBe('gatehouse.RouteNotFound');
      }
    });

    it('turns a crashing policy into 500 gatehouse.InternalError and keeps serving', async () => {
      const { upstream } = okUpstream();
      const result = await exchange({ route: 'shop/crash', request: get('/crash'), upstream });
      expect(result.response.status).toBe(500);
      expect(result.response.body.toString()).not.toContain('boom');
      const after = await exchange({ route: 'shop/headers', request: get('/headers'), upstream });
      expect(after.response.status).toBe(200);
    });
  });

  describe('bodies', () => {
    it('runs the flow on a BUFFERED body, replaces it and drops content-length', async () => {
      const { seen, upstream } = okUpstream('{"r":1}');
      const result = await exchange({
        route: 'shop/body',
        mode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED' },
        request: post('/body', { a: 1 }),
        upstream,
      });
      expect(result.replies.map((r) => r.response)).toEqual([
        'requestHeaders',
        'requestBody',
        'responseHeaders',
        'responseBody',
      ]);
      expect(JSON.parse(seen[0]!.body!.toString())).toEqual({ a: 1, seen: 'request' });
      expect(header(seen[0]!.headers, 'content-length')).toBeUndefined();
      expect(JSON.parse(result.response.body.toString())).toEqual({ r: 1, seen: 'response' });
      expect(result.replies[0]!.requestHeaders!.response).toBeNull(); // the flow waited for the body
    });

    it('replaces the body at the headers with CONTINUE_AND_REPLACE when the flow does not need it', async () => {
      const { seen, upstream } = okUpstream();
      const result = await exchange({ route: 'shop/replace', request: get('/replace'), upstream });
      expect(result.replies[0]!.requestHeaders!.response!.status).toBe('CONTINUE_AND_REPLACE');
      expect(seen[0]!.body!.toString()).toBe('replaced');
      expect(header(seen[0]!.headers, 'content-type')).toBe('text/plain');
    });

    it('accumulates STREAMED chunks before running the flow', async () => {
      const { seen, upstream } = okUpstream();
      const body = Buffer.alloc(900, 'a');
      const result = await exchange({
        route: 'shop/size',
        mode: { requestBodyMode: 'STREAMED' },
        chunkBytes: 256,
        request: { method: 'PUT', path: '/size', headers: [], body },
        upstream,
      });
      expect(result.replies.map((r) => r.response)).toEqual([
        'requestHeaders',
        'requestBody',
        'requestBody',
        'requestBody',
        'requestBody',
        'responseHeaders',
      ]);
      expect(seen[0]!.body!.equals(body)).toBe(true);
    });

    // Known difference, not fixed here: in STREAMED mode Envoy has sent the request headers upstream
    // before the body arrives, and ignores a header mutation in a streamed body reply
    // (ProcessorState::handleStreamedBodyResponse). extproc runs the flow at the last chunk and puts
    // its header changes there, so they are lost on Envoy. The compiler emits BUFFERED only, where
    // they apply; extproc should refuse or report header changes in STREAMED mode.
    it.fails('STREAMED: header changes made at the last chunk reach the upstream (they do not on Envoy)', async () => {
      const { seen, upstream } = okUpstream();
      await exchange({
        route: 'shop/size',
        mode: { requestBodyMode: 'STREAMED' },
        chunkBytes: 256,
        request: { method: 'PUT', path: '/size', headers: [], body: Buffer.alloc(900, 'a') },
        upstream,
      });
      expect(header(seen[0]!.headers, 'x-body-size')).toBe('900');
    });

    it('refuses a body over the limit with 413, from content-length or from the bytes', async () => {
      const { seen, upstream } = okUpstream();
      const big = post('/body', { pad: 'x'.repeat(2000) });
      const declared = await exchange({
        route: 'shop/body',
        mode: { requestBodyMode: 'BUFFERED' },
        request: big,
        upstream,
      });
      expect(declared.response.status).toBe(413);
      expect(declared.replies.map((r) => r.response)).toEqual(['immediateResponse']);
      const counted = await exchange({
        route: 'shop/size',
        mode: { requestBodyMode: 'STREAMED' },
        chunkBytes: 600,
        request: { method: 'PUT', path: '/size', headers: [], body: Buffer.alloc(2000) },
        upstream,
      });
      expect(counted.response.status).toBe(413);
      expect(errorCode(counted.response.body)).toBe('gatehouse.PayloadTooLarge');
      expect(seen).toHaveLength(0);
    });
  });

  describe('mutation rules', () => {
    /** The rules operator/src/compile/envoy/ext-proc.ts compiles (the golden files hold the exact JSON). */
    const compiledRules = {
      ...defaultMutationRules,
      allowAllRouting: true,
      disallowExpression: RE2JS.compile(':scheme'),
      disallowIsError: true,
    };
    const faults = async (code: string) =>
      (await server.server.metrics.faults.get()).values.find((v) => v.labels.code === code)?.value ?? 0;

    it('a policy sets Host and the verb: the upstream gets both (allow_all_routing), nothing is refused', async () => {
      const { seen, upstream } = okUpstream();
      const result = await exchange({
        route: 'shop/rehost',
        request: get('/rehost'),
        upstream,
        mutationRules: compiledRules,
      });
      expect(result.response.status).toBe(200);
      expect(result.violations).toEqual([]);
      expect(seen[0]!.authority).toBe('upstream.internal');
      expect(seen[0]!.method).toBe('PUT');
    });

    it('a policy setting x-envoy-* (after a Host change) is a counted gatehouse.RefusedChange fault; the upstream gets nothing', async () => {
      const { seen, upstream } = okUpstream();
      const before = await faults('gatehouse.RefusedChange');
      const result = await exchange({
        route: 'shop/protected',
        request: get('/protected'),
        upstream,
        mutationRules: compiledRules,
      });
      expect(seen).toHaveLength(0);
      expect(result.response.status).toBe(500);
      expect(errorCode(result.response.body)).toBe('gatehouse.RefusedChange');
      expect(result.response.body.toString()).toContain('x-envoy-original-path');
      expect(result.violations).toEqual([]);
      expect(await faults('gatehouse.RefusedChange')).toBe(before + 1);
      const refused = await server.server.metrics.refusedChanges.get();
      expect(refused.values.find((v) => v.labels.type === 'SetHeader')?.value).toBeGreaterThanOrEqual(1);
    });

    it('removing an x-envoy-* header is refused at the policy, never sent for Envoy to drop', async () => {
      const { seen, upstream } = okUpstream();
      const result = await exchange({
        route: 'shop/drop-envoy',
        request: get('/drop-envoy', [['x-envoy-expected-rq-timeout-ms', '5']]),
        upstream,
        mutationRules: compiledRules,
      });
      expect(seen).toHaveLength(0);
      expect(errorCode(result.response.body)).toBe('gatehouse.RefusedChange');
    });

    it('a header value carrying CR LF from the client (a decoded query parameter) is refused at the policy, not an empty Envoy 500', async () => {
      const { seen, upstream } = okUpstream();
      const result = await exchange({
        route: 'shop/note',
        request: get('/note?note=a%0D%0Ax-injected:%201'),
        upstream,
        mutationRules: compiledRules,
      });
      expect(seen).toHaveLength(0);
      expect(result.failure).toBeUndefined();
      expect(errorCode(result.response.body)).toBe('gatehouse.RefusedChange');
      const fine = await exchange({
        route: 'shop/note',
        request: get('/note?note=plain'),
        upstream,
        mutationRules: compiledRules,
      });
      expect(fine.response.status).toBe(200);
      expect(header(seen[0]!.headers, 'x-note')).toBe('plain');
    });

    it("rewrites the request target through :path under Envoy's default mutation rules", async () => {
      const { seen, upstream } = okUpstream();
      await exchange({ route: 'shop/rewrite', request: get('/rewrite?q=1'), upstream });
      expect(seen[0]!.path).toBe('/internal/v2?q=1');
    });
  });

  describe('protocol errors', () => {
    /** Sends raw messages and returns the replies and final status, as a misbehaving Envoy would see them. */
    async function raw(messages: object[], route = 'shop/headers') {
      const metadata = new grpc.Metadata();
      metadata.set('x-gatehouse-route', route);
      const call = client.process(metadata);
      const replies: unknown[] = [];
      call.on('data', (r) => replies.push(r));
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      call.on('error', () => undefined);
      for (const m of messages) call.write(m);
      call.end();
      return { replies, status: await status };
    }
    const headers = {
      requestHeaders: {
        headers: { headers: [{ key: ':path', rawValue: Buffer.from('/headers') }] },
        endOfStream: true,
      },
    };

    it('ends the stream with INVALID_ARGUMENT for an empty ProcessingRequest', async () => {
      const { replies, status } = await raw([{}]);
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(replies).toEqual([]);
    });

    it('ends the stream with FAILED_PRECONDITION for out-of-order messages', async () => {
      expect((await raw([{ requestBody: { body: Buffer.from('x'), endOfStream: true } }])).status.code).toBe(
        grpc.status.FAILED_PRECONDITION,
      );
      const twice = await raw([headers, headers]);
      expect(twice.status.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(twice.replies).toHaveLength(1);
      const bodyAfterEnd = await raw([headers, { requestBody: { body: Buffer.from('x'), endOfStream: true } }]);
      expect(bodyAfterEnd.status.code).toBe(grpc.status.FAILED_PRECONDITION);
      await settle();
      expect(await activeStreams()).toBe(0);
    });

    it('treats a client that cancels mid-stream as a normal end', async () => {
      const metadata = new grpc.Metadata();
      metadata.set('x-gatehouse-route', 'shop/slow');
      const call = client.process(metadata);
      call.on('error', () => undefined);
      call.write(headers);
      await until(() => waiting.count === 1); // the slow flow is running
      call.cancel();
      await settle();
      expect(await activeStreams()).toBe(0);
      expect((await server.server.metrics.streams.get()).values.some((v) => v.labels.outcome === 'cancelled')).toBe(
        true,
      );
    });
  });

  describe('snapshot reload', () => {
    it('keeps the snapshot a stream started with; new streams get the new one', async () => {
      const { seen, upstream } = okUpstream();
      const inFlight = exchange({ route: 'shop/slow', request: get('/slow'), upstream, timeoutMs: 30_000 });
      await until(() => waiting.count === 1); // its flow has started, with v1
      server.apply(testSnapshot('v2'));
      await inFlight;
      await exchange({ route: 'shop/slow', request: get('/slow'), upstream, timeoutMs: 30_000 });
      expect(seen.map((r) => header(r.headers, 'x-version'))).toEqual(['v1', 'v2']);
      server.apply(testSnapshot('v1'));
    });
  });

  describe('Envoy-side failures', () => {
    it('message_timeout: 504 without failure_mode_allow, the upstream with it', async () => {
      const { seen, upstream } = okUpstream();
      const closed = await exchange({ route: 'shop/slow', request: get('/slow'), upstream, timeoutMs: 50 });
      expect(closed.response.status).toBe(504);
      expect(closed.failure).toMatch(/message_timeout/);
      const open = await exchange({
        route: 'shop/slow',
        request: get('/slow'),
        upstream,
        timeoutMs: 50,
        failureModeAllow: true,
      });
      expect(open.response.status).toBe(200);
      expect(seen).toHaveLength(1);
      await settle();
      expect(await activeStreams()).toBe(0);
    });
  });
});
