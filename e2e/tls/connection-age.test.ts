// --max-connection-age over mutual TLS, on both transports: the verified connections lib/tls's
// listener hands to the server (grpc-js's connection injector, node:http2's 'connection') are
// recycled like plain ones: GOAWAY at the age, the open stream finishes, a new connection is served.
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startServerTls } from '../../lib/tls/flags.ts';
import { tlsPolicy } from '../../lib/tls/policy.ts';
import { envoy } from '../../protos/gen/extproc/codecs.js';
import { SnapshotStore } from '../../extproc/src/config/snapshot-store.ts';
import { testCatalog, testSnapshot } from '../../extproc/src/server/fixtures.test-support.ts';
import { createExtprocServer } from '../../extproc/src/server/server.ts';
import { buildSnapshot } from '../../extproc/src/server/test-server.test-support.ts';
import { PROCESS_PATH, TRANSPORTS } from '../../extproc/src/server/transport.ts';
import { createMemoryStores } from '../../extproc/src/stores/memory.ts';
import { createCa, issueLeaf } from './pki.ts';
import { SecretVolume } from './secret-volume.ts';

const Request = envoy.service.ext_proc.v3.ProcessingRequest;
const Response = envoy.service.ext_proc.v3.ProcessingResponse;

/** One gRPC message: request headers of GET /headers on shop/headers's host. */
function headersFrame(): Buffer {
  const body = Buffer.from(
    Request.encode(
      Request.fromObject({
        requestHeaders: {
          headers: {
            headers: [
              [':method', 'GET'],
              [':path', '/headers'],
              [':authority', 'api.test'],
              [':scheme', 'https'],
            ].map(([key, value]) => ({ key, rawValue: Buffer.from(value!) })),
          },
          endOfStream: true,
        },
      }),
    ).finish(),
  );
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

/** A Process call: the headers message, then the half-close when `end` resolves; its grpc-status and reply kinds. */
function call(session: ClientHttp2Session, end: Promise<void> = Promise.resolve()) {
  const stream = session.request({
    ':method': 'POST',
    ':path': PROCESS_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
    'x-gatehouse-route': 'shop/headers',
  });
  stream.on('error', () => undefined);
  stream.write(headersFrame());
  void end.then(() => stream.end());
  const chunks: Buffer[] = [];
  let status: string | undefined;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('trailers', (t: IncomingHttpHeaders) => (status = t['grpc-status'] as string | undefined));
  return new Promise<{ status: string | undefined; replies: Array<string | undefined> }>((resolve) =>
    stream.on('close', () => {
      const data = Buffer.concat(chunks);
      const replies: Array<string | undefined> = [];
      for (let at = 0; at + 5 <= data.length; at += 5 + data.readUInt32BE(at + 1))
        replies.push(Response.decode(data.subarray(at + 5, at + 5 + data.readUInt32BE(at + 1))).response);
      resolve({ status, replies });
    }),
  );
}

describe.each(TRANSPORTS)('max connection age over mutual TLS, %s', (transport) => {
  const serverFiles = new SecretVolume();
  let client: { cert: string; key: string; ca: string };

  beforeAll(async () => {
    const ca = await createCa('Connection Age CA');
    const server = await issueLeaf(ca, 'extproc', { dns: ['extproc.test'] });
    const leaf = await issueLeaf(ca, 'envoy', { dns: ['envoy.test'] });
    serverFiles.write({ 'tls.crt': server.cert, 'tls.key': server.key, 'ca.crt': ca.cert });
    client = { cert: leaf.cert, key: leaf.key, ca: ca.cert };
  });
  afterAll(() => serverFiles.remove());

  it('recycles a verified connection: GOAWAY at the age, the open stream finishes, a new connection is served', async () => {
    const log = pino({ level: 'silent' });
    const tls = startServerTls(
      {
        certFile: serverFiles.path('tls.crt'),
        keyFile: serverFiles.path('tls.key'),
        clientCaFile: serverFiles.path('ca.crt'),
        policy: tlsPolicy({}),
      },
      log,
      'ext_proc server',
    );
    const snapshots = new SnapshotStore();
    snapshots.apply(buildSnapshot(testSnapshot(), testCatalog));
    const stores = createMemoryStores();
    const server = createExtprocServer({ transport, snapshots, stores, log, tls, maxConnectionAgeMs: 300 });
    const port = await server.listen('127.0.0.1', 0);
    const open = (): ClientHttp2Session => {
      const session = connect(`https://127.0.0.1:${port}`, { ...client, servername: 'extproc.test' });
      session.on('error', () => undefined);
      return session;
    };
    const old = open();
    const sessions = [old];
    try {
      const goaway = new Promise<[number, number]>((resolve) =>
        old.once('goaway', (code: number, last: number) => resolve([code, last])),
      );
      let halfClose!: () => void;
      const pending = call(old, new Promise<void>((resolve) => (halfClose = resolve)));
      await until(() => server.activeStreams() === 1);
      expect(await goaway).toEqual([constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1]);
      halfClose();
      expect(await pending).toEqual({ status: '0', replies: ['requestHeaders'] });
      await new Promise((resolve) => (old.closed ? resolve(undefined) : old.once('close', resolve)));
      const fresh = open();
      sessions.push(fresh);
      expect(await call(fresh)).toEqual({ status: '0', replies: ['requestHeaders'] });
    } finally {
      for (const s of sessions) s.destroy();
      await server.shutdown(1000);
      await stores.close();
      tls.watcher.close();
    }
  });
});
