// The access log every compiled HttpConnectionManager writes (docs/operations.md#access-logs): one
// JSON line per request on Envoy's stdout (envoy.access_loggers.stdout, StdoutAccessLog with
// log_format.json_format), with the fields a DataPlane's spec.accessLog.fields picks from the
// catalogue below. Each field is one Envoy command operator; devproxy interprets the same operators
// (devproxy/src/access-log/). What must never be logged is kept out by the catalogue itself: the path
// is logged without its query (`?apikey=` values), and no operator reads a credential header.
import type { AccessLog } from '../../../../protos/gen/json/envoy.config.accesslog.v3.ts';
import type { AccessLogField } from '../../api/dataplane.ts';
import type { IrAccessLog } from '../ir.ts';
import { typeUrls } from './names.ts';

/**
 * The dynamic metadata namespace extproc writes per request (proxy, app, fault_code) and the ext_proc
 * filter accepts (metadata_options.receiving_namespaces.untyped). extproc names it too
 * (extproc/src/server/request-context.ts); e2e/dev/access-log.test.ts holds the two together.
 */
export const gatehouseMetadataNamespace = 'gatehouse';

/** The catalogue: DataPlane field name -> [JSON key in the line, Envoy command operator]. */
export const accessLogCatalogue = {
  startTime: ['start_time', '%START_TIME%'],
  requestId: ['request_id', '%REQ(X-REQUEST-ID)%'],
  // The active span's trace id: null until the HttpConnectionManager traces (issue 18, OpenTelemetry).
  traceId: ['trace_id', '%TRACE_ID%'],
  traceparent: ['traceparent', '%REQ(TRACEPARENT)%'],
  method: ['method', '%REQ(:METHOD)%'],
  // The client's path (before a route's rewrite) WITHOUT the query: API keys in query strings stay out.
  path: ['path', '%PATH(NQ:ORIG_OR_PATH)%'],
  authority: ['authority', '%REQ(:AUTHORITY)%'],
  protocol: ['protocol', '%PROTOCOL%'],
  status: ['status', '%RESPONSE_CODE%'],
  responseFlags: ['response_flags', '%RESPONSE_FLAGS%'],
  responseCodeDetails: ['response_code_details', '%RESPONSE_CODE_DETAILS%'],
  duration: ['duration_ms', '%DURATION%'],
  upstreamDuration: ['upstream_duration_ms', '%RESPONSE_DURATION%'],
  bytesReceived: ['bytes_received', '%BYTES_RECEIVED%'],
  bytesSent: ['bytes_sent', '%BYTES_SENT%'],
  upstreamHost: ['upstream_host', '%UPSTREAM_HOST%'],
  route: ['route', '%ROUTE_NAME%'],
  proxy: ['proxy', `%DYNAMIC_METADATA(${gatehouseMetadataNamespace}:proxy)%`],
  app: ['app', `%DYNAMIC_METADATA(${gatehouseMetadataNamespace}:app)%`],
  faultCode: ['fault_code', `%DYNAMIC_METADATA(${gatehouseMetadataNamespace}:fault_code)%`],
} as const satisfies Record<AccessLogField, readonly [string, string]>;

/** The HttpConnectionManager's access_log for a DataPlane: empty when it turned the log off. */
export function emitAccessLog(log: IrAccessLog): AccessLog[] {
  if (!log.enabled || log.fields.length === 0) return [];
  const format: Record<string, string> = {};
  for (const field of log.fields) {
    const [key, operator] = accessLogCatalogue[field];
    format[key] = operator;
  }
  return [
    {
      name: 'envoy.access_loggers.stdout',
      typed_config: { '@type': typeUrls.stdoutAccessLog, log_format: { json_format: format } },
    },
  ];
}
