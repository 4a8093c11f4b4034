// An OTLP logs receiver for tests: a grpc-js server implementing
// opentelemetry.proto.collector.logs.v1.LogsService (otlp/logs_service.proto), keeping every log
// record it is sent with its attributes as JS values; plain text, or TLS with the given material.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface ReceivedLog {
  service: string;
  scope: string;
  eventName: string;
  attributes: Record<string, string | number | boolean>;
}

export interface OtlpLogsReceiver {
  /** host:port */
  address: string;
  logs: ReceivedLog[];
  exports: number;
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  value?: string;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}

function valueOf(v: AnyValue | undefined): string | number | boolean {
  if (!v) return '';
  switch (v.value) {
    case 'boolValue':
      return v.boolValue!;
    case 'intValue':
      return Number(v.intValue);
    case 'doubleValue':
      return v.doubleValue!;
    default:
      return v.stringValue ?? '';
  }
}
const attrs = (list: KeyValue[] | undefined) =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

export async function startOtlpLogsReceiver(tls?: {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
}): Promise<OtlpLogsReceiver> {
  const definition = protoLoader.loadSync(fileURLToPath(new URL('otlp/logs_service.proto', import.meta.url)), {
    keepCase: false,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: { proto: { collector: { logs: { v1: { LogsService: grpc.ServiceClientConstructor } } } } };
  };
  const receiver: OtlpLogsReceiver = { address: '', logs: [], exports: 0, close: async () => {} };
  const server = new grpc.Server();
  server.addService(pkg.opentelemetry.proto.collector.logs.v1.LogsService.service, {
    Export: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      receiver.exports++;
      const request = call.request as {
        resourceLogs: Array<{
          resource?: { attributes?: KeyValue[] };
          scopeLogs: Array<{
            scope?: { name: string };
            logRecords: Array<{ eventName: string; attributes: KeyValue[] }>;
          }>;
        }>;
      };
      for (const rl of request.resourceLogs) {
        const service = String(attrs(rl.resource?.attributes)['service.name'] ?? '');
        for (const sl of rl.scopeLogs)
          for (const l of sl.logRecords)
            receiver.logs.push({
              service,
              scope: sl.scope?.name ?? '',
              eventName: l.eventName,
              attributes: attrs(l.attributes),
            });
      }
      callback(null, {});
    },
  });
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(
        tls.clientCa ?? null,
        [{ cert_chain: tls.cert, private_key: tls.key }],
        !!tls.clientCa,
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  receiver.address = `127.0.0.1:${port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.tryShutdown(() => resolve());
      setTimeout(() => server.forceShutdown(), 2000).unref();
    });
  return receiver;
}
