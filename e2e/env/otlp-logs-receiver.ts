// An OTLP logs receiver for tests: a grpc-js server implementing
// opentelemetry.proto.collector.logs.v1.LogsService (otlp/logs_service.proto), keeping every log
// record it is sent with its attributes as JS values; plain text, or TLS with the given material.
import { serveOtlp, type OtlpAnyValue, type OtlpKeyValue as KeyValue, type OtlpServerTls } from './otlp-server.ts';

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

/** AnyValue with the `value` oneof case proto-loader adds (`oneofs: true`). */
interface AnyValue extends OtlpAnyValue {
  value?: string;
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

export async function startOtlpLogsReceiver(tls?: OtlpServerTls): Promise<OtlpLogsReceiver> {
  const receiver: OtlpLogsReceiver = { address: '', logs: [], exports: 0, close: async () => {} };
  const server = await serveOtlp(
    'logs',
    (req) => {
      receiver.exports++;
      const request = req as {
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
    },
    tls,
  );
  receiver.address = server.address;
  receiver.close = () => server.close();
  return receiver;
}
