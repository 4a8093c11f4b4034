// A real DebugCaptureService (protos/gatehouse/v1/debug.proto) on 127.0.0.1:0 for tests: it keeps every
// report, and the raw bytes of each as they arrived (so tests search what went over the wire), answers
// `remaining` as the test says, and can hang (never answer) or be stopped (dead).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../../../protos/gen/debug.ts';
import type { DebugCaptureReport__Output } from '../../../protos/gen/gatehouse/v1/DebugCaptureReport.ts';

export interface CaptureServer {
  address: string;
  port: number;
  reports: DebugCaptureReport__Output[];
  /** The serialized DebugCaptureReports as received. */
  raw: Buffer[];
  /** What the next acks say (default 100). */
  remaining: number;
  /** When true, calls are never answered (a hung operator). */
  hang: boolean;
  transactions(sessionId?: string): DebugCaptureReport__Output['transactions'];
  close(): Promise<void>;
}

export async function startCaptureServer(port = 0): Promise<CaptureServer> {
  const pkg = grpc.loadPackageDefinition(
    protoLoader.loadSync(new URL('../../../protos/gatehouse/v1/debug.proto', import.meta.url).pathname, {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    }),
  ) as unknown as ProtoGrpcType;
  const definition = pkg.gatehouse.v1.DebugCaptureService.service;
  const server = new grpc.Server();
  const held: Array<() => void> = [];
  const state: CaptureServer = {
    address: '',
    port: 0,
    reports: [],
    raw: [],
    remaining: 100,
    hang: false,
    transactions: (sessionId) =>
      state.reports.filter((r) => sessionId === undefined || r.sessionId === sessionId).flatMap((r) => r.transactions),
    close: () =>
      new Promise<void>((resolve) => {
        for (const release of held.splice(0)) release();
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
  const report = definition.Report;
  server.addService(
    {
      Report: {
        ...report,
        requestDeserialize: (bytes: Buffer) => {
          state.raw.push(Buffer.from(bytes));
          return report.requestDeserialize(bytes);
        },
      },
    },
    {
      Report: (
        call: grpc.ServerUnaryCall<DebugCaptureReport__Output, unknown>,
        callback: grpc.sendUnaryData<{ remaining: number }>,
      ) => {
        if (state.hang) {
          held.push(() => callback({ code: grpc.status.UNAVAILABLE, details: 'closing' }));
          return;
        }
        state.reports.push(call.request);
        callback(null, { remaining: state.remaining });
      },
    },
  );
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  state.address = `127.0.0.1:${state.port}`;
  return state;
}
