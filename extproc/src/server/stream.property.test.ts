// Random ProcessingRequest sequences (any order, any end_of_stream, empty messages, cancels): the
// server must answer with at most one reply per message, end every stream, and leak none.
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../../../e2e/env/eventually.ts';
import { createExtProcClient, type ExternalProcessorClient } from '../../../e2e/envoy/client.ts';
import type { ProcessingRequest } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import { testCatalog, testSnapshot } from './fixtures.test-support.ts';
import { startTestServer, type TestServer } from './test-server.test-support.ts';

let server: TestServer;
let client: ExternalProcessorClient;
beforeAll(async () => {
  server = await startTestServer({ snapshot: testSnapshot(), catalog: testCatalog, maxBodyBytes: 64 });
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
const message: fc.Arbitrary<ProcessingRequest> = fc.oneof(
  fc.constant({}),
  fc.boolean().map((endOfStream) => ({ requestHeaders: { headers: headerMap, endOfStream } })),
  fc.boolean().map((endOfStream) => ({ responseHeaders: { headers: headerMap, endOfStream } })),
  fc
    .tuple(fc.uint8Array({ maxLength: 100 }), fc.boolean())
    .map(([b, endOfStream]) => ({ requestBody: { body: Buffer.from(b), endOfStream } })),
  fc
    .tuple(fc.uint8Array({ maxLength: 100 }), fc.boolean())
    .map(([b, endOfStream]) => ({ responseBody: { body: Buffer.from(b), endOfStream } })),
  fc.constant({ requestTrailers: { trailers: { headers: [] as [] } } }),
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

it('never crashes, never over-replies, never leaks a stream', async () => {
  await fc.assert(
    fc.asyncProperty(
      route,
      fc.array(message, { maxLength: 8 }),
      fc.option(fc.nat(30)),
      async (r, messages, cancelAfterMs) => {
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
        expect(replies).toBeLessThanOrEqual(messages.length);
      },
    ),
    { numRuns: 150 },
  );
  // Streams end when both sides have seen the end, whenever that is on a busy machine.
  await eventually(
    'every stream to end',
    async () => (await server.server.metrics.activeStreams.get()).values[0]!.value === 0,
  );
}, 120_000);
