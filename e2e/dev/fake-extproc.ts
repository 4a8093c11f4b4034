// A scripted ext_proc server for devproxy's filter tests: each test decides, per message, what the
// "server" replies (or that it stays silent, or fails the stream), and sees the metadata and
// messages devproxy sent, so the Envoy side of the protocol can be checked exactly.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { allowEnvoyStreamResets } from '../../extproc/src/server/stream-resets.ts';
import { envoyProtoLoaderOptions } from '../../protos/envoy.ts';
import type { ProcessingRequest__Output } from '../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse } from '../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingResponse.ts';

/**
 * A scripted answer: one reply, several (the later ones unasked; `{ waitMs }` pauses between them),
 * none ('silent'), the stream ended with a gRPC error ('fail') or with status OK ('close').
 */
export type ScriptAnswer =
  ProcessingResponse | Array<ProcessingResponse | { waitMs: number }> | 'silent' | 'fail' | 'close';
export type Script = (
  message: ProcessingRequest__Output,
  metadata: grpc.Metadata,
) => ScriptAnswer | Promise<ScriptAnswer>;

export interface FakeExtProc {
  port: number;
  /** Every stream: its metadata and the messages received. */
  /** Every stream: its metadata, the messages received, and whether Envoy cancelled it (its close()). */
  streams: Array<{ metadata: grpc.Metadata; messages: ProcessingRequest__Output[]; cancelled: boolean }>;
  script: Script;
  close(): Promise<void>;
}

/** Continue every phase unchanged. */
export const continueAll: Script = (m) => ({ [m.request!]: {} });

export async function startFakeExtProc(script: Script = continueAll): Promise<FakeExtProc> {
  const def = protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', envoyProtoLoaderOptions);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: { service: { ext_proc: { v3: { ExternalProcessor: { service: grpc.ServiceDefinition } } } } };
  };
  const server = new grpc.Server();
  const fake: FakeExtProc = {
    port: 0,
    streams: [],
    script,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(pkg.envoy.service.ext_proc.v3.ExternalProcessor.service, {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>) => {
      const stream = { metadata: call.metadata, messages: [] as ProcessingRequest__Output[], cancelled: false };
      fake.streams.push(stream);
      call.on('cancelled', () => {
        stream.cancelled = true;
      });
      call.on('data', (m: ProcessingRequest__Output) => {
        stream.messages.push(m);
        void Promise.resolve(fake.script(m, call.metadata)).then(async (reply) => {
          if (call.destroyed || stream.cancelled || reply === 'silent') return;
          if (reply === 'fail') {
            call.emit('error', { code: grpc.status.INTERNAL, details: 'scripted failure' });
            return;
          }
          if (reply === 'close') {
            call.end();
            return;
          }
          for (const r of Array.isArray(reply) ? reply : [reply]) {
            if ('waitMs' in r) await new Promise((resolve) => setTimeout(resolve, r.waitMs));
            else if (!call.destroyed && !stream.cancelled) call.write(r);
          }
        });
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  // devproxy, as Envoy, resets every stream it closes; Node's HTTP/2 server would end the connection
  // after 1,000 of them (nghttp2's rapid-reset limit), as it would for the extproc server without this.
  if (!allowEnvoyStreamResets(server)) throw new Error('this grpc-js keeps its HTTP/2 server options elsewhere');
  fake.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  return fake;
}
