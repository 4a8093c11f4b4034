// envoy.filters.http.ext_proc: the listener-level ExternalProcessor and the per-route ExtProcPerRoute,
// as Envoy reads them. Fields devproxy cannot honour are rejected rather than silently ignored.
import { RE2JS } from 're2js';
import type { BodySendMode, HeaderSendMode, ProcessingMode } from '../ext-proc/exchange.ts';
import { ConfigRejectedError } from '../errors.ts';
import { boolValue, durationMs, type Decoded } from '../xds/envoy-protos.ts';
import type { ExtProcFilterConfig, ExtProcRouteOverride, HeaderList, MutationRules } from './model.ts';

const api = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3';
export const extProcTypeUrl = `${api}.ExternalProcessor`;
export const extProcPerRouteTypeUrl = `${api}.ExtProcPerRoute`;

/** Envoy's default message_timeout. */
const defaultMessageTimeoutMs = 200;

function grpcCluster(
  service: Decoded | null | undefined,
  where: string,
): { cluster: string; metadata: HeaderList } | undefined {
  if (!service) return undefined;
  const envoyGrpc = service.envoy_grpc as { cluster_name?: string } | null;
  if (!envoyGrpc?.cluster_name) throw new ConfigRejectedError(`${where}: only grpc_service.envoy_grpc is supported`);
  const metadata = (service.initial_metadata as Decoded[]).map((h): [string, string] => [
    String(h.key).toLowerCase(),
    String(h.value),
  ]);
  return { cluster: String(envoyGrpc.cluster_name), metadata };
}

function processingMode(m: Decoded | null | undefined): ProcessingMode | undefined {
  if (!m) return undefined;
  const header = (v: unknown): HeaderSendMode => (v === 'SKIP' ? 'SKIP' : v === 'DEFAULT' ? 'SEND' : 'SEND');
  const body = (v: unknown, field: string): BodySendMode => {
    if (v === 'NONE' || v === 'BUFFERED' || v === 'STREAMED') return v;
    throw new ConfigRejectedError(`processing_mode.${field}: ${String(v)} is not supported by devproxy`);
  };
  // Trailers default to SKIP, headers to SEND (Envoy's DEFAULT for each).
  const trailer = (v: unknown): HeaderSendMode => (v === 'SEND' ? 'SEND' : 'SKIP');
  return {
    requestHeaderMode: header(m.request_header_mode),
    responseHeaderMode: header(m.response_header_mode),
    requestBodyMode: body(m.request_body_mode, 'request_body_mode'),
    responseBodyMode: body(m.response_body_mode, 'response_body_mode'),
    requestTrailerMode: trailer(m.request_trailer_mode),
    responseTrailerMode: trailer(m.response_trailer_mode),
  };
}

function regexOf(m: Decoded | null | undefined): RE2JS | undefined {
  if (!m) return undefined;
  try {
    return RE2JS.compile(String(m.regex));
  } catch (err) {
    throw new ConfigRejectedError(`invalid regex ${JSON.stringify(m.regex)}: ${(err as Error).message}`);
  }
}

function mutationRules(r: Decoded | null | undefined): MutationRules {
  return {
    allowAllRouting: boolValue(r?.allow_all_routing, false),
    allowEnvoy: boolValue(r?.allow_envoy, false),
    disallowSystem: boolValue(r?.disallow_system, false),
    disallowAll: boolValue(r?.disallow_all, false),
    disallowIsError: boolValue(r?.disallow_is_error, false),
    allowExpression: regexOf(r?.allow_expression as Decoded | null),
    disallowExpression: regexOf(r?.disallow_expression as Decoded | null),
  };
}

export function parseExtProcFilter(filterName: string, c: Decoded): ExtProcFilterConfig {
  const grpc = grpcCluster(c.grpc_service as Decoded | null, filterName);
  if (!grpc) throw new ConfigRejectedError(`${filterName}: grpc_service is required`);
  if (c.http_service) throw new ConfigRejectedError(`${filterName}: http_service is not supported by devproxy`);
  return {
    filterName,
    clusterName: grpc.cluster,
    initialMetadata: grpc.metadata,
    failureModeAllow: Boolean(c.failure_mode_allow),
    messageTimeoutMs: durationMs(c.message_timeout) ?? defaultMessageTimeoutMs,
    processingMode: processingMode(c.processing_mode as Decoded | null) ?? {},
    requestAttributes: (c.request_attributes as string[]).slice(),
    mutationRules: mutationRules(c.mutation_rules as Decoded | null),
  };
}

export function parseExtProcPerRoute(c: Decoded): ExtProcRouteOverride {
  if (c.disabled) return { disabled: true, initialMetadata: [] };
  const o = (c.overrides ?? {}) as Decoded;
  const grpc = grpcCluster(o.grpc_service as Decoded | null, 'ExtProcPerRoute.overrides');
  const metadata = ((o.grpc_initial_metadata ?? []) as Decoded[]).map((h): [string, string] => [
    String(h.key).toLowerCase(),
    String(h.value),
  ]);
  return {
    disabled: false,
    processingMode: processingMode(o.processing_mode as Decoded | null),
    initialMetadata: [...(grpc?.metadata ?? []), ...metadata],
    ...(grpc ? { clusterName: grpc.cluster } : {}),
    ...((o.request_attributes as string[] | undefined)?.length
      ? { requestAttributes: (o.request_attributes as string[]).slice() }
      : {}),
  };
}
