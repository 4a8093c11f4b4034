// An OTLP trace receiver for tests: a grpc-js server implementing
// opentelemetry.proto.collector.trace.v1.TraceService (the messages in otlp/trace_service.proto),
// keeping every span it is sent, flattened with its service.name, hex ids and attributes as strings.
import { serveOtlp, type OtlpAnyValue as AnyValue, type OtlpKeyValue as KeyValue } from './otlp-server.ts';

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string>;
  status: { code: number; message: string };
}

export interface OtlpReceiver {
  /** host:port */
  address: string;
  spans: ReceivedSpan[];
  /** Export calls received. */
  exports: number;
  close(): Promise<void>;
}

const text = (v: AnyValue | undefined) =>
  v === undefined ? '' : String(v.stringValue ?? v.boolValue ?? v.intValue ?? v.doubleValue ?? '');
const attrs = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, text(kv.value)]));
const hex = (b: Buffer | undefined) => (b ? b.toString('hex') : '');

/** `tls`: serve over TLS with this certificate (the tracing TLS tests); default plain text. */
export async function startOtlpReceiver(tls?: { cert: string; key: string }): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = { address: '', spans: [], exports: 0, close: async () => {} };
  const server = await serveOtlp(
    'trace',
    (req) => {
      receiver.exports++;
      const request = req as {
        resourceSpans: Array<{
          resource?: { attributes?: KeyValue[] };
          scopeSpans: Array<{
            spans: Array<{
              traceId: Buffer;
              spanId: Buffer;
              parentSpanId: Buffer;
              name: string;
              kind: number;
              startTimeUnixNano: string;
              endTimeUnixNano: string;
              attributes: KeyValue[];
              status?: { code: number; message: string };
            }>;
          }>;
        }>;
      };
      for (const rs of request.resourceSpans) {
        const service = attrs(rs.resource?.attributes)['service.name'] ?? '';
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans)
            receiver.spans.push({
              service,
              traceId: hex(s.traceId),
              spanId: hex(s.spanId),
              parentSpanId: hex(s.parentSpanId),
              name: s.name,
              kind: s.kind,
              startNs: BigInt(s.startTimeUnixNano),
              endNs: BigInt(s.endTimeUnixNano),
              attributes: attrs(s.attributes),
              status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
            });
      }
    },
    tls,
  );
  receiver.address = server.address;
  receiver.close = () => server.close();
  return receiver;
}
