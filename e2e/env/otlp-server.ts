// The gRPC server both OTLP test receivers run (spans: otlp-receiver.ts, log records:
// otlp-logs-receiver.ts): one collector service of otlp/*.proto whose Export hands each request to the
// receiver, on loopback, plain text or TLS (mutual with a client CA).
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** OTLP's AnyValue, as proto-loader decodes it (longs as strings). */
export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
}
export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}

export interface OtlpServerTls {
  cert: Buffer | string;
  key: Buffer | string;
  /** Require client certificates issued by this CA. */
  clientCa?: Buffer;
}

export interface OtlpServer {
  /** host:port */
  address: string;
  close(): Promise<void>;
}

const services = {
  trace: { proto: 'otlp/trace_service.proto', service: 'TraceService' },
  logs: { proto: 'otlp/logs_service.proto', service: 'LogsService' },
} as const;

export async function serveOtlp(
  signal: keyof typeof services,
  onExport: (request: unknown) => void,
  tls?: OtlpServerTls,
): Promise<OtlpServer> {
  const { proto, service } = services[signal];
  const definition = protoLoader.loadSync(fileURLToPath(new URL(proto, import.meta.url)), {
    keepCase: false,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: { proto: { collector: Record<string, { v1: Record<string, grpc.ServiceClientConstructor> }> } };
  };
  const server = new grpc.Server();
  server.addService(pkg.opentelemetry.proto.collector[signal]!.v1[service]!.service, {
    Export: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      onExport(call.request);
      callback(null, {});
    },
  });
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(
        tls.clientCa ?? null,
        [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
        tls.clientCa !== undefined,
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
}
