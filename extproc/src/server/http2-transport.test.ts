// The node:http2 transport's own gRPC (http2-call.ts, http2-transport.ts), driven by a raw node:http2
// client so that every byte on the wire is the test's: framing, trailers and trailers-only replies,
// deadlines, refused methods and encodings, hostile messages (truncated, wrong wire types, huge
// lengths, deep nesting, random bytes) that must end their stream with a status while the server keeps
// serving, keepalive pings; and graceful drain (GOAWAY) on both transports.
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { createConnection } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envoy } from '../../../protos/gen/extproc/codecs.js';
import { testCatalog, testSnapshot } from './fixtures.test-support.ts';
import { startTestServer, type TestServer } from './test-server.test-support.ts';
import { encodeGrpcMessage, PROCESS_PATH, TRANSPORTS } from './transport.ts';

const Request = envoy.service.ext_proc.v3.ProcessingRequest;
const Response = envoy.service.ext_proc.v3.ProcessingResponse;

const encode = (message: Record<string, unknown>) => Buffer.from(Request.encode(Request.fromObject(message)).finish());
const frame = (body: Buffer, flags = 0) => {
  const out = Buffer.alloc(5 + body.length);
  out[0] = flags;
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
};
const headersMessage = (path = '/headers', extra: Array<[string, string]> = []) =>
  encode({
    requestHeaders: {
      headers: {
        headers: [[':method', 'POST'], [':path', path], [':authority', 'api.test'], [':scheme', 'https'], ...extra].map(
          ([key, value]) => ({ key, rawValue: Buffer.from(value!) }),
        ),
      },
      endOfStream: false,
    },
  });

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 5));
}

interface RawResult {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  /** grpc-status from the trailers, or from the headers of a trailers-only reply. */
  status: number | undefined;
  message: string | undefined;
  replies: Array<ReturnType<typeof Response.decode>>;
}

/** One call with the given request headers and frames (then half-close unless `end: false`). */
function rawCall(
  session: ClientHttp2Session,
  frames: Buffer[],
  options: { headers?: Record<string, string>; end?: boolean; path?: string } = {},
): { result: Promise<RawResult>; write: (b: Buffer) => void; end: () => void } {
  const stream = session.request({
    ':method': 'POST',
    ':path': options.path ?? PROCESS_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
    'x-gatehouse-route': 'shop/headers',
    ...options.headers,
  });
  stream.on('error', () => undefined);
  for (const f of frames) stream.write(f);
  if (options.end !== false) stream.end();
  let headers: IncomingHttpHeaders = {};
  let trailers: IncomingHttpHeaders = {};
  const chunks: Buffer[] = [];
  stream.on('response', (h) => (headers = h));
  stream.on('trailers', (t: IncomingHttpHeaders) => (trailers = t));
  stream.on('data', (c: Buffer) => chunks.push(c));
  const result = new Promise<RawResult>((resolve) =>
    stream.on('close', () => {
      const data = Buffer.concat(chunks);
      const replies: RawResult['replies'] = [];
      for (let at = 0; at + 5 <= data.length;) {
        const length = data.readUInt32BE(at + 1);
        replies.push(Response.decode(data.subarray(at + 5, at + 5 + length)));
        at += 5 + length;
      }
      const status = trailers['grpc-status'] ?? headers['grpc-status'];
      const message = (trailers['grpc-message'] ?? headers['grpc-message']) as string | undefined;
      resolve({
        headers,
        trailers,
        status: status === undefined ? undefined : Number(status),
        message: message === undefined ? undefined : decodeURIComponent(message),
        replies,
      });
    }),
  );
  return { result, write: (b) => stream.write(b), end: () => stream.end() };
}

describe('gRPC over node:http2', () => {
  let server: TestServer;
  let session: ClientHttp2Session;
  beforeAll(async () => {
    server = await startTestServer({
      transport: 'http2',
      snapshot: testSnapshot(),
      catalog: testCatalog,
      maxBodyBytes: 1024,
    });
    session = connect(`http://${server.address}`);
    session.on('error', () => undefined);
  });
  afterAll(async () => {
    session.close();
    await server.close();
  });

  /** The server still answers a well-formed exchange, and holds no stream. */
  const stillServing = async () => {
    const ok = await rawCall(session, [frame(headersMessage())]).result;
    expect(ok.status).toBe(0);
    expect(ok.replies.map((r) => r.response)).toEqual(['requestHeaders']);
    await until(() => server.server.activeStreams() === 0);
  };

  it('answers length-prefixed messages with application/grpc replies and grpc-status 0 in trailers', async () => {
    const { headers, trailers, status, replies } = await rawCall(session, [frame(headersMessage())]).result;
    expect(headers[':status']).toBe(200);
    expect(headers['content-type']).toBe('application/grpc');
    expect(trailers['grpc-status']).toBe('0');
    expect(status).toBe(0);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.requestHeaders?.response?.headerMutation?.setHeaders?.length).toBeGreaterThan(0);
  });

  it('takes a message split across DATA frames and several messages in one', async () => {
    const message = frame(headersMessage());
    const call = rawCall(session, [message.subarray(0, 3)], { end: false });
    await new Promise((r) => setTimeout(r, 20)); // not a timing assertion: only lets the first bytes go alone
    call.write(message.subarray(3));
    call.end();
    expect((await call.result).replies.map((r) => r.response)).toEqual(['requestHeaders']);
  });

  it('reads the same messages however the bytes are cut into DATA frames (prefixes and bodies split, several in one)', async () => {
    const responseHeaders = encode({
      responseHeaders: { headers: { headers: [{ key: ':status', rawValue: Buffer.from('200') }] }, endOfStream: true },
    });
    const bytes = Buffer.concat([frame(headersMessage()), frame(responseHeaders)]);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 6 }),
        async (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const call = rawCall(session, [], { end: false });
          for (let i = 0; i + 1 < at.length; i++) {
            call.write(bytes.subarray(at[i], at[i + 1]));
            await new Promise((r) => setImmediate(r)); // each piece its own write (not a timing assertion)
          }
          call.end();
          const result = await call.result;
          expect(result.status).toBe(0);
          expect(result.replies.map((r) => r.response)).toEqual(['requestHeaders', 'responseHeaders']);
        },
      ),
      { numRuns: 30 },
    );
    await until(() => server.server.activeStreams() === 0);
  });

  it('ends a protocol error from the state machine with its status, percent-encoded', async () => {
    const { status, message } = await rawCall(session, [frame(encode({}))]).result;
    expect(status).toBe(grpc.status.INVALID_ARGUMENT);
    expect(message).toBe('ProcessingRequest carries no request');
    expect(encodeGrpcMessage('50% über\n')).toBe('50%25 %C3%BCber%0A');
  });

  it.each([
    ['a compressed message (no grpc-encoding is accepted)', frame(headersMessage(), 1), grpc.status.INTERNAL],
    ['unknown message flags', frame(headersMessage(), 0x80), grpc.status.INTERNAL],
    ['a truncated message', frame(headersMessage().subarray(0, 20)), grpc.status.INTERNAL],
    ['a field length past the message', frame(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x07])), 13],
    ['an end-group tag with no group', frame(Buffer.from([0x0c])), grpc.status.INTERNAL],
    ['a varint that never ends', frame(Buffer.alloc(16, 0xff)), grpc.status.INTERNAL],
    ['a known field with the wrong wire type', frame(Buffer.from([0x10, 0x01])), grpc.status.INVALID_ARGUMENT],
  ])('ends a stream that sends %s with a status, and keeps serving', async (_, bytes, code) => {
    const { status } = await rawCall(session, [bytes]).result;
    expect(status).toBe(code);
    await stillServing();
  });

  it('refuses a message longer than the receive limit from its prefix, before its bytes arrive', async () => {
    const call = rawCall(session, [Buffer.from([0, 0xff, 0xff, 0xff, 0xff])], { end: false });
    const { status, message } = await call.result;
    expect(status).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(message).toMatch(/^Received message larger than max \(4294967295 vs\. \d+\)$/);
    await stillServing();
  });

  it('refuses attributes nested past the decoder depth limit (no stack overflow)', async () => {
    // attributes["a"] = Struct{fields{"k": Value{list_value: ListValue{values: [Value{list_value: ...}]}}}}, 5,000 deep.
    let value = Buffer.from(protobuf.Writer.create().uint32(26).string('leaf').finish()); // Value.string_value
    for (let i = 0; i < 5000; i++) {
      const list = protobuf.Writer.create().uint32(10).bytes(value).finish(); // ListValue.values
      value = Buffer.from(protobuf.Writer.create().uint32(50).bytes(list).finish()); // Value.list_value
    }
    const entry = protobuf.Writer.create().uint32(10).string('k').uint32(18).bytes(value).finish(); // Struct.fields
    const struct = protobuf.Writer.create().uint32(10).bytes(entry).finish();
    const attribute = protobuf.Writer.create().uint32(10).string('a').uint32(18).bytes(struct).finish();
    const hostile = Buffer.concat([headersMessage(), protobuf.Writer.create().uint32(74).bytes(attribute).finish()]);
    const { status, message } = await rawCall(session, [frame(hostile)]).result;
    expect(status).toBe(grpc.status.INTERNAL);
    expect(message).toMatch(/cannot decode ProcessingRequest: max depth exceeded/);
    await stillServing();
  });

  it('ends every stream of random bytes with a status, never crashing or leaking a stream', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (bytes) => {
        const { status } = await rawCall(session, [frame(Buffer.from(bytes))]).result;
        expect(status).toBeTypeOf('number');
      }),
      { numRuns: 150 },
    );
    await stillServing();
  });

  it('ends a call whose client half-closes in the middle of a message with INTERNAL', async () => {
    const { status } = await rawCall(session, [frame(headersMessage()).subarray(0, 12)]).result;
    expect(status).toBe(grpc.status.INTERNAL);
    await stillServing();
  });

  it('ends a call past its grpc-timeout with DEADLINE_EXCEEDED and frees the stream', async () => {
    // shop/body waits for the body: the stream stays open until the deadline.
    const call = rawCall(session, [frame(headersMessage('/body', [['content-length', '10']]))], {
      headers: { 'grpc-timeout': '200m', 'x-gatehouse-route': 'shop/body' },
      end: false,
    });
    const { status, message, replies } = await call.result;
    expect(replies.map((r) => r.response)).toEqual(['requestHeaders']);
    expect([status, message]).toEqual([grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded']);
    await until(() => server.server.activeStreams() === 0);
    expect(server.server.bufferedBodyBytes()).toBe(0);
  });

  it('refuses a malformed grpc-timeout, grpc-encoding it does not speak, unknown methods and non-gRPC requests', async () => {
    const bad = await rawCall(session, [frame(headersMessage())], { headers: { 'grpc-timeout': 'soon' } }).result;
    expect([bad.status, bad.message]).toEqual([grpc.status.INTERNAL, 'Invalid grpc-timeout value "soon"']);
    const gzip = await rawCall(session, [frame(headersMessage(), 1)], { headers: { 'grpc-encoding': 'gzip' } }).result;
    expect(gzip.status).toBe(grpc.status.UNIMPLEMENTED);
    expect(gzip.headers['grpc-accept-encoding']).toBe('identity');
    const unknown = await rawCall(session, [], { path: '/envoy.service.ext_proc.v3.ExternalProcessor/Other' }).result;
    expect(unknown.status).toBe(grpc.status.UNIMPLEMENTED);
    const text = await rawCall(session, [], { headers: { 'content-type': 'text/plain' } }).result;
    expect([text.headers[':status'], text.status]).toEqual([415, undefined]);
    await stillServing();
  });

  it('drops a connection that does not speak HTTP/2 (an HTTP/1.1 request, garbage) and keeps serving', async () => {
    const [host, port] = server.address.split(':');
    for (const bytes of ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff']) {
      const socket = createConnection(Number(port), host);
      socket.on('error', () => undefined);
      socket.end(Buffer.from(bytes, 'latin1'));
      socket.resume();
      await new Promise((resolve) => socket.once('close', resolve));
    }
    await stillServing();
  });

  it('a client reset mid-stream ends the stream as cancelled', async () => {
    const stream = session.request({
      ':method': 'POST',
      ':path': PROCESS_PATH,
      'content-type': 'application/grpc',
      'x-gatehouse-route': 'shop/body',
    });
    stream.on('error', () => undefined);
    stream.write(frame(headersMessage('/body', [['content-length', '10']])));
    await new Promise((resolve) => stream.once('data', resolve));
    expect(server.server.activeStreams()).toBe(1);
    stream.close(constants.NGHTTP2_CANCEL);
    await until(() => server.server.activeStreams() === 0);
    expect(server.server.bufferedBodyBytes()).toBe(0);
    const values = (await server.server.metrics.streams.get()).values;
    expect(values.find((v) => v.labels.outcome === 'cancelled')?.value).toBeGreaterThan(0);
  });

  it('stops reading while its replies cannot drain, and loses nothing when the client reads again', async () => {
    // The client's receive window is 0: no reply can leave the server until it opens it.
    const blocked = connect(`http://${server.address}`, { settings: { initialWindowSize: 0 } });
    blocked.on('error', () => undefined);
    try {
      const stream = blocked.request({
        ':method': 'POST',
        ':path': PROCESS_PATH,
        'content-type': 'application/grpc',
        'x-gatehouse-route': 'shop/headers',
      });
      stream.on('error', () => undefined);
      const chunk = frame(encode({ requestBody: { body: Buffer.alloc(512, 120), endOfStream: false } }));
      stream.write(frame(headersMessage()));
      // Far more than the server buffers: were it reading on, it would hold every reply.
      const total = 20_000;
      let written = 0;
      let stalled = false;
      while (written < total) {
        if (!stream.write(chunk)) {
          const drained = await Promise.race([
            new Promise<boolean>((r) => stream.once('drain', () => r(true))),
            until(() => server.server.activeStreams() === 1).then(
              () => new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
            ),
          ]);
          if (!drained) {
            stalled = true;
            break;
          }
        }
        written++;
      }
      expect({ stalled, written }).toMatchObject({ stalled: true });
      expect(written).toBeLessThan(total);
      // Open the window: every message written so far gets its reply, in order.
      const replies: string[] = [];
      let pending = Buffer.alloc(0);
      stream.on('data', (c: Buffer) => {
        pending = Buffer.concat([pending, c]);
        while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
          const length = pending.readUInt32BE(1);
          replies.push(Response.decode(pending.subarray(5, 5 + length)).response ?? '');
          pending = pending.subarray(5 + length);
        }
      });
      blocked.settings({ initialWindowSize: 65_535 });
      stream.end();
      await new Promise((r) => stream.on('close', r));
      expect(replies[0]).toBe('requestHeaders');
      expect(replies.length).toBeGreaterThanOrEqual(written + 1);
      expect(replies.slice(1).every((r) => r === 'requestBody')).toBe(true);
    } finally {
      blocked.destroy();
    }
    await stillServing();
  });
});

describe('keepalive over node:http2', () => {
  it('pings an idle connection', async () => {
    const server = await startTestServer({
      transport: 'http2',
      snapshot: testSnapshot(),
      catalog: testCatalog,
      keepaliveMs: 50,
    });
    const session = connect(`http://${server.address}`);
    try {
      await new Promise((resolve) => session.once('ping', resolve));
    } finally {
      session.close();
      await server.close();
    }
  });
});

describe.each(TRANSPORTS)('graceful drain over %s', (transport) => {
  it('sends GOAWAY, refuses new streams, lets the open one finish, then closes', async () => {
    const server = await startTestServer({ transport, snapshot: testSnapshot(), catalog: testCatalog });
    const session = connect(`http://${server.address}`);
    session.on('error', () => undefined);
    try {
      const open = rawCall(session, [frame(headersMessage('/headers'))], { end: false });
      await until(() => server.server.activeStreams() === 1);
      const goaway = new Promise((resolve) => session.once('goaway', resolve));
      let stopped = false;
      const stopping = server.close().then(() => (stopped = true));
      await goaway;
      expect(stopped).toBe(false);
      // The open stream carries on: its response headers are answered, then it ends normally.
      open.write(
        frame(
          encode({ responseHeaders: { headers: { headers: [{ key: ':status', rawValue: Buffer.from('200') }] } } }),
        ),
      );
      open.end();
      const { status, replies } = await open.result;
      expect(status).toBe(0);
      expect(replies.map((r) => r.response)).toEqual(['requestHeaders', 'responseHeaders']);
      await stopping;
      expect(server.server.activeStreams()).toBe(0);
    } finally {
      session.destroy();
    }
  });
});

describe.each(TRANSPORTS)('max connection age over %s', (transport) => {
  const responseHeaders = () =>
    frame(encode({ responseHeaders: { headers: { headers: [{ key: ':status', rawValue: Buffer.from('200') }] } } }));

  it('sends GOAWAY to a connection past the age, lets its open stream finish, and serves a new connection', async () => {
    const server = await startTestServer({
      transport,
      snapshot: testSnapshot(),
      catalog: testCatalog,
      maxConnectionAgeMs: 300,
    });
    const old = connect(`http://${server.address}`);
    old.on('error', () => undefined);
    const goaways: Array<{ code: number; lastStreamId: number; data: string }> = [];
    old.on('goaway', (code: number, lastStreamId: number, data?: Buffer) =>
      goaways.push({ code, lastStreamId, data: data?.toString() ?? '' }),
    );
    const closed = new Promise((resolve) => old.once('close', resolve));
    let fresh: ClientHttp2Session | undefined;
    try {
      const open = rawCall(old, [frame(headersMessage('/headers'))], { end: false });
      await until(() => server.server.activeStreams() === 1);
      await until(() => goaways.length > 0);
      // The first GOAWAY names the last possible stream: whatever the client opened meanwhile is served.
      expect(goaways[0]).toEqual({ code: constants.NGHTTP2_NO_ERROR, lastStreamId: 2 ** 31 - 1, data: 'max_age' });
      // The open stream carries on to its end.
      open.write(responseHeaders());
      open.end();
      const { status, replies } = await open.result;
      expect(status).toBe(0);
      expect(replies.map((r) => r.response)).toEqual(['requestHeaders', 'responseHeaders']);
      // Then the old connection closes, and a new one is served.
      await closed;
      fresh = connect(`http://${server.address}`);
      fresh.on('error', () => undefined);
      const next = await rawCall(fresh, [frame(headersMessage())]).result;
      expect(next.status).toBe(0);
      expect(next.replies.map((r) => r.response)).toEqual(['requestHeaders']);
    } finally {
      old.destroy();
      fresh?.destroy();
      await server.close();
    }
  });

  it('cuts a stream still open at the grace after the GOAWAY, and keeps serving', async () => {
    const server = await startTestServer({
      transport,
      snapshot: testSnapshot(),
      catalog: testCatalog,
      maxConnectionAgeMs: 200,
      maxConnectionAgeGraceMs: 200,
    });
    const old = connect(`http://${server.address}`);
    old.on('error', () => undefined);
    let fresh: ClientHttp2Session | undefined;
    try {
      // A client that never ends its stream: the grace ends it for it.
      const stuck = rawCall(old, [frame(headersMessage('/headers'))], { end: false });
      const { status } = await stuck.result;
      expect(status).toBeUndefined();
      await until(() => server.server.activeStreams() === 0);
      fresh = connect(`http://${server.address}`);
      fresh.on('error', () => undefined);
      expect((await rawCall(fresh, [frame(headersMessage())]).result).status).toBe(0);
    } finally {
      old.destroy();
      fresh?.destroy();
      await server.close();
    }
  });

  it('leaves connections alone without an age', async () => {
    const server = await startTestServer({ transport, snapshot: testSnapshot(), catalog: testCatalog });
    const session = connect(`http://${server.address}`);
    session.on('error', () => undefined);
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    try {
      for (let i = 0; i < 3; i++) {
        expect((await rawCall(session, [frame(headersMessage())]).result).status).toBe(0);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(goaway).toBe(false);
    } finally {
      session.destroy();
      await server.close();
    }
  });
});

describe('max connection age over http2: the GOAWAYs on the wire', () => {
  /** An HTTP/2 frame: 9-byte header and payload. */
  const h2frame = (type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)) => {
    const header = Buffer.alloc(9);
    header.writeUIntBE(payload.length, 0, 3);
    header[3] = type;
    header[4] = flags;
    header.writeUInt32BE(streamId, 5);
    return Buffer.concat([header, payload]);
  };
  /** HPACK: each field a literal without indexing, new name, no Huffman (every length under 127). */
  const hpack = (fields: Array<[string, string]>) =>
    Buffer.concat(
      fields.flatMap(([name, value]) => [
        Buffer.from([0, name.length]),
        Buffer.from(name),
        Buffer.from([value.length]),
        Buffer.from(value),
      ]),
    );
  const [DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY] = [0, 1, 3, 4, 7];
  const [END_STREAM, ACK, END_HEADERS] = [1, 1, 4];
  const request = hpack([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', PROCESS_PATH],
    [':authority', 'extproc'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['x-gatehouse-route', 'shop/headers'],
  ]);

  it('names every stream, then the last one received; a stream opened after it is not processed, the open one ends', async () => {
    const server = await startTestServer({
      transport: 'http2',
      snapshot: testSnapshot(),
      catalog: testCatalog,
      maxConnectionAgeMs: 300,
    });
    const [host, port] = server.address.split(':');
    const socket = createConnection(Number(port), host);
    socket.on('error', () => undefined);
    const frames: Array<{ type: number; flags: number; streamId: number; payload: Buffer }> = [];
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9 && buffered.length >= 9 + buffered.readUIntBE(0, 3)) {
        const length = buffered.readUIntBE(0, 3);
        const f = {
          type: buffered[3]!,
          flags: buffered[4]!,
          streamId: buffered.readUInt32BE(5) & 0x7fffffff,
          payload: buffered.subarray(9, 9 + length),
        };
        buffered = buffered.subarray(9 + length);
        frames.push(f);
        if (f.type === SETTINGS && !(f.flags & ACK)) socket.write(h2frame(SETTINGS, ACK, 0));
      }
    });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const goaways = () =>
      frames
        .filter((f) => f.type === GOAWAY)
        .map((f) => ({
          last: f.payload.readUInt32BE(0),
          code: f.payload.readUInt32BE(4),
          data: f.payload.subarray(8).toString(),
        }));
    try {
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), h2frame(SETTINGS, 0, 0)]));
      // Stream 1, open across the age: its request headers answered, no half-close yet.
      socket.write(h2frame(HEADERS, END_HEADERS, 1, request));
      socket.write(h2frame(DATA, 0, 1, frame(headersMessage())));
      await until(() => frames.some((f) => f.type === DATA && f.streamId === 1));
      await until(() => goaways().length === 2);
      expect(goaways()).toEqual([
        { last: 2 ** 31 - 1, code: 0, data: 'max_age' },
        { last: 1, code: 0, data: '' },
      ]);
      // A client that had not read them yet opens stream 3: past the last stream named, not processed.
      socket.write(h2frame(HEADERS, END_HEADERS, 3, request));
      socket.write(h2frame(DATA, END_STREAM, 3, frame(headersMessage())));
      // Stream 1 carries on to its status, never reset; then the connection closes.
      socket.write(h2frame(DATA, END_STREAM, 1));
      await until(() => frames.some((f) => f.type === HEADERS && f.streamId === 1 && f.flags & END_STREAM));
      await closed;
      expect(frames.some((f) => f.type === RST_STREAM && f.streamId === 1)).toBe(false);
      expect(frames.filter((f) => f.streamId === 3)).toEqual([]);
      const reply = frames.find((f) => f.type === DATA && f.streamId === 1)!.payload;
      expect(Response.decode(reply.subarray(5)).response).toBe('requestHeaders');
    } finally {
      socket.destroy();
      await server.close();
    }
  });
});
