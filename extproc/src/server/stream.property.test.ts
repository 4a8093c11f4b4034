// Random ProcessingRequest sequences (any order, any end_of_stream, empty messages, cancels, header
// maps over the limits, bodies past the shared budget, more streams than allowed at once): the server
// must answer with at most one reply per message, end every stream, leak none, and give back every
// body byte it held.
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtProcClient, type ExternalProcessorClient } from '../../../devproxy/src/ext-proc/client.ts';
import type { ProcessingRequest } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import { testCatalog, testSnapshot } from './fixtures.test-support.ts';
import { startTestServer, type TestServer } from './test-server.test-support.ts';
import { TRANSPORTS } from './transport.ts';

describe.each(TRANSPORTS)('over %s', (transport) => {
  let server: TestServer;
  let client: ExternalProcessorClient;
  beforeAll(async () => {
    server = await startTestServer({
      transport,
      snapshot: testSnapshot(),
      catalog: testCatalog,
      maxBodyBytes: 64,
      limits: { maxHeadersCount: 8, maxHeadersBytes: 256, maxBufferedBodyBytes: 150, maxStreams: 4 },
    });
    client = createExtProcClient(server.address);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  const headerMap = {
    headers: [
      { key: ':path', rawValue: Buffer.from('/x') },
      { key: ':status', rawValue: Buffer.from('200') },
      { key: 'content-type', rawValue: Buffer.from('application/json') },
    ],
  };
  /** Header maps around the limits: many headers, long values, declared lengths of any kind. */
  const anyHeaders = fc
    .tuple(
      fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 200 })), { maxLength: 12 }),
      fc.option(fc.oneof(fc.nat(200).map(String), fc.string({ maxLength: 6 }))),
    )
    .map(([extra, length]) => ({
      headers: [
        ...headerMap.headers,
        ...extra.map(([key, value]) => ({ key, rawValue: Buffer.from(value) })),
        ...(length === null ? [] : [{ key: 'content-length', rawValue: Buffer.from(length) }]),
      ],
    }));
  const message: fc.Arbitrary<ProcessingRequest> = fc.oneof(
    fc.constant({}),
    fc.boolean().map((endOfStream) => ({ requestHeaders: { headers: headerMap, endOfStream } })),
    fc.tuple(anyHeaders, fc.boolean()).map(([headers, endOfStream]) => ({ requestHeaders: { headers, endOfStream } })),
    fc.boolean().map((endOfStream) => ({ responseHeaders: { headers: headerMap, endOfStream } })),
    fc.tuple(anyHeaders, fc.boolean()).map(([headers, endOfStream]) => ({ responseHeaders: { headers, endOfStream } })),
    fc
      .tuple(fc.uint8Array({ maxLength: 100 }), fc.boolean())
      .map(([b, endOfStream]) => ({ requestBody: { body: Buffer.from(b), endOfStream } })),
    fc
      .tuple(fc.uint8Array({ maxLength: 100 }), fc.boolean())
      .map(([b, endOfStream]) => ({ responseBody: { body: Buffer.from(b), endOfStream } })),
    fc.constant({ requestTrailers: { trailers: { headers: [] as [] } } }),
    anyHeaders.map((trailers) => ({ requestTrailers: { trailers } })),
    fc.constant({ responseTrailers: { trailers: { headers: [] as [] } } }),
  );
  const route = fc.constantFrom(
    'shop/headers',
    'shop/body',
    'shop/size',
    'shop/deny',
    'shop/slow',
    'shop/replace',
    'nope/nope',
  );

  /** One stream playing `messages`, then half-closing or cancelling; resolves to its replies once it ended. */
  async function play(r: string, messages: ProcessingRequest[], cancelAfterMs: number | null): Promise<number> {
    const metadata = new grpc.Metadata();
    metadata.set('x-gatehouse-route', r);
    const call = client.process(metadata);
    let replies = 0;
    call.on('data', () => replies++);
    call.on('error', () => undefined);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    for (const m of messages) call.write(m);
    if (cancelAfterMs === null) call.end();
    else setTimeout(() => call.cancel(), cancelAfterMs);
    await status;
    return replies;
  }

  const stream = fc.record({
    route,
    messages: fc.array(message, { maxLength: 8 }),
    cancelAfterMs: fc.option(fc.nat(30)),
  });

  it('never crashes, never over-replies, never leaks a stream or a body byte', async () => {
    await fc.assert(
      // Several streams at once: together they pass the stream cap and the shared body budget.
      fc.asyncProperty(fc.array(stream, { minLength: 1, maxLength: 6 }), async (streams) => {
        const replies = await Promise.all(streams.map((s) => play(s.route, s.messages, s.cancelAfterMs)));
        replies.forEach((n, i) => expect(n).toBeLessThanOrEqual(streams[i]!.messages.length));
      }),
      { numRuns: 100 },
    );
    while (server.server.activeStreams() !== 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await server.server.metrics.activeStreams.get()).values[0]!.value).toBe(0);
    expect(server.server.bufferedBodyBytes()).toBe(0);
  }, 120_000);
});
