// One analytics record per transaction (docs/operations.md#analytics), its fields named after Apigee's
// analytics dimensions and metrics so that a migrating team finds theirs: apiproxy, apiproxy_revision,
// developer_app, api_product, developer_email, response_status_code, is_error,
// total_response_time, target_response_time, ... The request path is recorded without its query
// string (an ?apikey= never reaches a record), and no header is recorded at all: an API key or an
// Authorization header cannot end up in analytics. Apigee's client_id dimension is the consumer key
// itself: it is left out (developer_app names the app). StatisticsCollector's dimensions are added under
// their own names, which the policy's validation keeps apart from these.

/** A custom dimension's value, typed by StatisticsCollector. */
export type DimensionValue = string | number | boolean;

export interface AnalyticsRecord {
  /** Unix milliseconds when extproc saw the request headers (Apigee: client_received_start_timestamp). */
  client_received_start_timestamp: number;
  /** "namespace/name" of the ApiProxy (Apigee: apiproxy). */
  apiproxy: string;
  /** The ApiProxy's metadata.generation the snapshot was compiled from (Apigee: apiproxy_revision). */
  apiproxy_revision: string;
  /** The DataPlane's region (Apigee: environment). */
  environment: string;
  /** The DataPlane, "namespace/name". */
  dataplane: string;
  developer_app: string;
  api_product: string;
  /** The developer's email, else its name (Apigee: developer_email). */
  developer_email: string;
  client_ip: string;
  /** Apigee: request_verb. */
  request_verb: string;
  /** The path without the query string (Apigee: request_uri carries the query; ours never does). */
  request_path: string;
  /** Status sent to the client (Apigee: response_status_code). */
  response_status_code: number;
  /** Status the target answered with, 0 when the target was not reached (Apigee: target_response_code). */
  target_response_code: number;
  /** The fault's code when the transaction ended in one (Apigee: x_apigee_fault_code). */
  x_apigee_fault_code: string;
  /** The policy whose fault ended the transaction (Apigee: ax_execution_fault_policy_name). */
  ax_execution_fault_policy_name: string;
  /** 1 when the transaction failed: a fault, or a status of 400 or more (Apigee: is_error). */
  is_error: number;
  /** Milliseconds from the request headers to the end of the stream, in extproc (Apigee: total_response_time). */
  total_response_time: number;
  /** Milliseconds from the request sent on to the response headers, where known (Apigee: target_response_time). */
  target_response_time: number;
  /** Milliseconds of policy work on the request and on the response (Apigee: *_processing_latency). */
  request_processing_latency: number;
  response_processing_latency: number;
  /** Body bytes, where extproc saw the body or a content-length (Apigee: request_size, response_size). */
  request_size: number;
  response_size: number;
  /** x-request-id (Apigee: gateway_flow_id is its message id). */
  request_id: string;
  /** The W3C trace id, when the request is traced. */
  trace_id: string;
  /** StatisticsCollector's dimensions, by name. */
  [dimension: string]: DimensionValue;
}

/** The flow variable StatisticsCollector keeps its dimensions in (an object, not a string). */
export { statisticsVariable } from '../policies/extension/statistics-collector.ts';

/** The path without query string or fragment. */
export function pathOnly(path: string): string {
  const q = path.search(/[?#]/);
  return q < 0 ? path : path.slice(0, q);
}
