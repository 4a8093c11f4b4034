// The Node servers of `npm run bench:extproc`, each run as its own process so that the bench can read
// its CPU time from /proc (the driver's cost drops out): `node bench/extproc-server.ts bare|gatehouse`.
// Prints "listening <port>" once it serves; stops when stdin closes or on SIGTERM.
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { typicalChainSnapshot } from './typical-chain.ts';
import {
  externalProcessorService,
  type ProcessingRequest,
  type ProcessingResponse,
} from '../extproc/src/server/envoy-proto.ts';
import { createExtprocServer } from '../extproc/src/server/server.ts';
import type { TransportName } from '../extproc/src/server/transport.ts';
import { allowEnvoyStreamResets, envoyStreamResetLimit } from '../extproc/src/server/stream-resets.ts';
import { loadEnvoyRoot } from '../protos/envoy.ts';
import { buildSnapshot } from '../extproc/src/server/test-server.test-support.ts';
import { SnapshotStore } from '../extproc/src/config/snapshot-store.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';

/** A bare grpc-js ExternalProcessor: an empty reply of the matching type to every message. */
async function startBare(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new grpc.Server();
  // As Gatehouse's server does: the driver, like Envoy, ends each stream with a reset (stream-resets.ts).
  allowEnvoyStreamResets(server);
  server.addService(externalProcessorService(), {
    process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      call.on('data', (msg: ProcessingRequest) => call.write({ [msg.request!]: {} }));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port,
    close: () => {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}

/**
 * The transport's ceiling, for docs/architecture.md#the-hot-path: a bare ext_proc server on node:http2
 * with protobufjs codecs (generated at load from Envoy's protos) answering each message with an empty
 * reply, as (a) does on grpc-js. Not a server to run: it has only what the bench's streams need (no
 * deadlines, compression, health, limits or status details).
 */
async function startBareHttp2(): Promise<{ port: number; close: () => Promise<void> }> {
  const root = loadEnvoyRoot(['envoy/service/ext_proc/v3/external_processor.proto']);
  const requestType = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
  const responseType = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
  // The empty reply to each kind of message, encoded once (length-prefixed gRPC frames).
  const replies = new Map<string, Buffer>();
  for (const field of requestType.oneofs.request!.fieldsArray) {
    const message = Buffer.from(responseType.encode(responseType.fromObject({ [field.name]: {} })).finish());
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    replies.set(field.name, frame);
  }
  const server = http2.createServer({
    // As stream-resets.ts does for grpc-js: the driver, like Envoy, ends each stream with a reset.
    streamResetBurst: envoyStreamResetLimit.burst,
    streamResetRate: envoyStreamResetLimit.perSecond,
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    if (headers[':path'] !== '/envoy.service.ext_proc.v3.ExternalProcessor/Process') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    let pending: Buffer = Buffer.alloc(0);
    stream.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        const length = pending.readUInt32BE(1);
        const message = requestType.decode(pending.subarray(5, 5 + length)) as unknown as Record<string, unknown>;
        pending = pending.subarray(5 + length);
        const kind = requestType.oneofs.request!.fieldsArray.find((f) => message[f.name] != null)?.name;
        const reply = kind && replies.get(kind);
        if (reply) stream.write(reply);
      }
    });
    stream.on('end', () => stream.end());
    stream.on('error', () => undefined);
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

/** Gatehouse's ext_proc server as `gatehouse extproc` builds it (default limits and worker pool), memory stores. */
async function startGatehouse(
  transport: TransportName = 'grpc-js',
): Promise<{ port: number; close: () => Promise<void> }> {
  const store = new SnapshotStore();
  store.apply(buildSnapshot(typicalChainSnapshot()));
  const stores = createMemoryStores();
  const server = createExtprocServer({ snapshots: store, stores, log: pino({ level: 'silent' }), transport });
  const port = await server.listen('127.0.0.1', 0);
  return {
    port,
    close: async () => {
      await server.shutdown(1000);
      await stores.close();
    },
  };
}

/** Run as a program (not imported for its fixture): start the server named by argv[2]. */
async function main(): Promise<void> {
  const kind = process.argv[2];
  const servers: Record<string, () => Promise<{ port: number; close: () => Promise<void> }>> = {
    bare: startBare,
    'bare-http2': startBareHttp2,
    gatehouse: () => startGatehouse('grpc-js'),
    'gatehouse-http2': () => startGatehouse('http2'),
  };
  const started = kind !== undefined && Object.hasOwn(servers, kind) ? await servers[kind]!() : undefined;
  if (!started) {
    process.stderr.write(
      `usage: node bench/extproc-server.ts bare|bare-http2|gatehouse|gatehouse-http2 (got ${kind ?? 'nothing'})\n`,
    );
    process.exit(2);
  }
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    void started.close().finally(() => process.exit(0));
  };
  process.stdin.on('end', stop).on('close', stop).resume();
  process.on('SIGTERM', stop);
  process.stdout.write(`listening ${started.port}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
