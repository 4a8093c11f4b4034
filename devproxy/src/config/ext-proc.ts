// envoy.filters.http.ext_proc: the listener-level ExternalProcessor and the per-route ExtProcPerRoute,
// as Envoy reads them (source/extensions/filters/http/ext_proc/config.cc, ext_proc.cc FilterConfig).
// Every field is either played or, when set to anything but its default, rejected (NACK): devproxy
// never silently ignores a setting that would change what Envoy does. The exceptions are Envoy's own:
// per-route request_attributes, response_attributes and async_mode are not implemented by Envoy
// (`[#not-implemented-hide:]`), so they are accepted and ignored here too; stat_prefix and
// filter_metadata only name stats and log entries.
import { RE2JS } from 're2js';
import { canEvaluate } from '../ext-proc/attributes.ts';
import {
  DEFAULT_MODE,
  type BodySendMode,
  type HeaderSendMode,
  type ProcessingMode,
  type RouteCacheAction,
} from '../ext-proc/exchange.ts';
import { ConfigRejectedError } from '../errors.ts';
import { boolValue, durationMs, str, type Decoded } from '../xds/envoy-protos.ts';
import type { ExtProcFilterConfig, ExtProcRouteOverride, HeaderList, MutationRules } from './model.ts';

const api = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3';
export const extProcTypeUrl = `${api}.ExternalProcessor`;
export const extProcPerRouteTypeUrl = `${api}.ExtProcPerRoute`;

/** Envoy's default message_timeout. */
const defaultMessageTimeoutMs = 200;

/** Rejects a field set to anything but its default (a decoded message is non-null, a list non-empty, a scalar truthy). */
function refuse(c: Decoded, fields: string[], where: string): void {
  for (const field of fields) {
    const v = c[field];
    const set = Array.isArray(v)
      ? v.length > 0
      : v !== null && v !== undefined && v !== false && v !== 0 && v !== '' && v !== '0' && v !== 'DEFAULT';
    if (set) throw new ConfigRejectedError(`${where}: ${field} is not supported by devproxy`);
  }
}

function grpcCluster(
  service: Decoded | null | undefined,
  where: string,
): { cluster: string; metadata: HeaderList } | undefined {
  if (!service) return undefined;
  const envoyGrpc = service.envoy_grpc as Decoded | null;
  if (!envoyGrpc?.cluster_name) throw new ConfigRejectedError(`${where}: only grpc_service.envoy_grpc is supported`);
  const metadata = (service.initial_metadata as Decoded[]).map((h): [string, string] => [
    String(h.key).toLowerCase(),
    String(h.value),
  ]);
  return { cluster: str(envoyGrpc.cluster_name), metadata };
}

function processingMode(m: Decoded | null | undefined, where: string): Required<ProcessingMode> | undefined {
  if (!m) return undefined;
  const header = (v: unknown, fallback: HeaderSendMode): HeaderSendMode =>
    v === 'SKIP' ? 'SKIP' : v === 'SEND' ? 'SEND' : fallback;
  const body = (v: unknown, field: string): BodySendMode => {
    if (v === 'NONE' || v === 'BUFFERED' || v === 'STREAMED') return v;
    throw new ConfigRejectedError(`${where}: processing_mode.${field} ${String(v)} is not supported by devproxy`);
  };
  // DEFAULT is SEND for headers and SKIP for trailers (setProcessingModeInternal).
  return {
    requestHeaderMode: header(m.request_header_mode, DEFAULT_MODE.requestHeaderMode),
    responseHeaderMode: header(m.response_header_mode, DEFAULT_MODE.responseHeaderMode),
    requestBodyMode: body(m.request_body_mode, 'request_body_mode'),
    responseBodyMode: body(m.response_body_mode, 'response_body_mode'),
    requestTrailerMode: header(m.request_trailer_mode, DEFAULT_MODE.requestTrailerMode),
    responseTrailerMode: header(m.response_trailer_mode, DEFAULT_MODE.responseTrailerMode),
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
  const allowExpression = regexOf(r?.allow_expression as Decoded | null);
  const disallowExpression = regexOf(r?.disallow_expression as Decoded | null);
  return {
    allowAllRouting: boolValue(r?.allow_all_routing, false),
    allowEnvoy: boolValue(r?.allow_envoy, false),
    disallowSystem: boolValue(r?.disallow_system, false),
    disallowAll: boolValue(r?.disallow_all, false),
    disallowIsError: boolValue(r?.disallow_is_error, false),
    ...(allowExpression ? { allowExpression } : {}),
    ...(disallowExpression ? { disallowExpression } : {}),
  };
}

function attributes(names: unknown, direction: 'request' | 'response', where: string): string[] {
  const list = (names as string[]).slice();
  for (const name of list)
    if (!canEvaluate(direction, name))
      throw new ConfigRejectedError(`${where}: ${direction}_attributes: devproxy cannot evaluate ${name}`);
  return list;
}

function routeCacheAction(c: Decoded, where: string): RouteCacheAction {
  const action = str(c.route_cache_action) || 'DEFAULT';
  if (c.disable_clear_route_cache) {
    // FilterConfig: both set is a config error; disable_clear_route_cache alone is RETAIN.
    if (action !== 'DEFAULT')
      throw new ConfigRejectedError(`${where}: disable_clear_route_cache and route_cache_action cannot both be set`);
    return 'RETAIN';
  }
  if (action !== 'DEFAULT' && action !== 'CLEAR' && action !== 'RETAIN')
    throw new ConfigRejectedError(`${where}: route_cache_action ${action} is unknown`);
  return action;
}

export function parseExtProcFilter(filterName: string, c: Decoded): ExtProcFilterConfig {
  const where = filterName;
  const grpc = grpcCluster(c.grpc_service as Decoded | null, where);
  if (!grpc) throw new ConfigRejectedError(`${where}: grpc_service is required`);
  refuse(
    c,
    [
      'http_service',
      'observability_mode',
      'forward_rules',
      'send_body_without_waiting_for_header_response',
      'allowed_override_modes',
      'on_processing_response',
      'processing_request_modifier',
      'status_on_error',
    ],
    where,
  );
  const timeout = durationMs(c.message_timeout) ?? defaultMessageTimeoutMs;
  const receivingNamespaces = metadataOptions(c.metadata_options as Decoded | null, where);
  return {
    filterName,
    clusterName: grpc.cluster,
    initialMetadata: grpc.metadata,
    failureModeAllow: Boolean(c.failure_mode_allow),
    messageTimeoutMs: timeout,
    maxMessageTimeoutMs: durationMs(c.max_message_timeout) ?? 0,
    processingMode: processingMode(c.processing_mode as Decoded | null, where) ?? DEFAULT_MODE,
    requestAttributes: attributes(c.request_attributes, 'request', where),
    responseAttributes: attributes(c.response_attributes, 'response', where),
    mutationRules: mutationRules(c.mutation_rules as Decoded | null),
    allowModeOverride: Boolean(c.allow_mode_override),
    routeCacheAction: routeCacheAction(c, where),
    disableImmediateResponse: Boolean(c.disable_immediate_response),
    receivingNamespaces,
  };
}

/**
 * metadata_options: devproxy plays receiving_namespaces.untyped (Filter::setDynamicMetadata; the
 * access log reads what replies set); forwarding namespaces (metadata_context on requests) and typed
 * receiving namespaces are rejected.
 */
function metadataOptions(m: Decoded | null | undefined, where: string): string[] {
  if (!m) return [];
  const forwarding = (m.forwarding_namespaces ?? {}) as Decoded;
  refuse(forwarding, ['untyped', 'typed'], `${where}: metadata_options.forwarding_namespaces`);
  const receiving = (m.receiving_namespaces ?? {}) as Decoded;
  refuse(receiving, ['typed'], `${where}: metadata_options.receiving_namespaces`);
  return ((receiving.untyped ?? []) as unknown[]).map(String);
}

export function parseExtProcPerRoute(c: Decoded): ExtProcRouteOverride {
  const where = 'ExtProcPerRoute';
  if (c.override === 'disabled' || c.disabled) {
    if (!c.disabled) throw new ConfigRejectedError(`${where}: disabled must be true`);
    return { disabled: true, initialMetadata: [] };
  }
  const o = (c.overrides ?? {}) as Decoded;
  refuse(o, ['metadata_options', 'failure_mode_allow', 'processing_request_modifier'], `${where}.overrides`);
  const grpc = grpcCluster(o.grpc_service as Decoded | null, `${where}.overrides`);
  const metadata = ((o.grpc_initial_metadata ?? []) as Decoded[]).map((h): [string, string] => [
    String(h.key).toLowerCase(),
    String(h.value),
  ]);
  const mode = processingMode(o.processing_mode as Decoded | null, `${where}.overrides`);
  return {
    disabled: false,
    ...(mode ? { processingMode: mode } : {}),
    initialMetadata: metadata,
    ...(grpc ? { service: { clusterName: grpc.cluster, initialMetadata: grpc.metadata } } : {}),
  };
}
