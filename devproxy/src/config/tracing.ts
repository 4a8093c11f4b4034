// HttpConnectionManager tracing -> what devproxy traces with: envoy.tracers.opentelemetry
// (OpenTelemetryConfig) exporting over Envoy gRPC to a cluster, and random_sampling. Other providers,
// an HTTP exporter, samplers, resource detectors, client/overall sampling, custom tags and
// spawn_upstream_span are rejected (NACK): devproxy plays only what Gatehouse compiles
// (operator/src/compile/envoy/tracing.ts).
import { ConfigRejectedError } from '../errors.ts';
import { str, unpackAny, type Decoded, type PackedAny } from '../xds/envoy-protos.ts';

export const openTelemetryConfigTypeUrl = 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig';

export interface TracingConfig {
  /** random_sampling, in percent (Envoy's default 100). */
  randomSamplingPercent: number;
  /** grpc_service.envoy_grpc.cluster_name: where spans are exported. */
  clusterName: string;
  /** service_name (Envoy's default "unknown_service:envoy"). */
  serviceName: string;
}

const percent = (p: unknown, fallback: number) =>
  p === null || p === undefined ? fallback : Number((p as { value?: number }).value ?? 0);

export function parseTracing(tracing: Decoded | null | undefined, where: string): TracingConfig | undefined {
  if (!tracing) return undefined;
  const at = `${where}: tracing`;
  for (const field of ['client_sampling', 'overall_sampling', 'max_path_tag_length'])
    if (tracing[field] !== null && tracing[field] !== undefined)
      throw new ConfigRejectedError(`${at}: ${field} is not supported by devproxy`);
  if (tracing.verbose || tracing.spawn_upstream_span || ((tracing.custom_tags ?? []) as unknown[]).length > 0)
    throw new ConfigRejectedError(`${at}: verbose, spawn_upstream_span and custom_tags are not supported by devproxy`);
  const provider = tracing.provider as Decoded | null;
  // No provider: Envoy traces nothing.
  if (!provider) return undefined;
  const any = provider.typed_config as PackedAny | undefined;
  if (any?.type_url !== openTelemetryConfigTypeUrl)
    throw new ConfigRejectedError(`${at}: only envoy.tracers.opentelemetry is supported by devproxy`);
  const config = unpackAny(any, openTelemetryConfigTypeUrl);
  if (config.http_service || ((config.resource_detectors ?? []) as unknown[]).length > 0 || config.sampler)
    throw new ConfigRejectedError(`${at}: http_service, resource_detectors and sampler are not supported by devproxy`);
  const grpc = config.grpc_service as Decoded | null;
  const envoyGrpc = grpc?.envoy_grpc as Decoded | null;
  if (!envoyGrpc?.cluster_name)
    throw new ConfigRejectedError(`${at}: devproxy exports spans only over grpc_service.envoy_grpc`);
  return {
    randomSamplingPercent: percent(tracing.random_sampling, 100),
    clusterName: str(envoyGrpc.cluster_name),
    serviceName: str(config.service_name) || 'unknown_service:envoy',
  };
}
