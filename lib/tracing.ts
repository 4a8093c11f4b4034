// OpenTelemetry tracing for the long-running commands (docs/operations.md#tracing): the JS SDK's tracer
// provider, a BatchSpanProcessor (bounded queue: what does not fit is dropped and counted, never
// waited for) and the OTLP gRPC exporter. Loaded only by `startTracing`, with dynamic imports: a
// process given no endpoint loads no SDK and makes no span objects.
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { Counter, type Registry } from 'prom-client';
import { GatehouseError } from './errors.ts';

export type { Context, Span, SpanContext, Tracer };

/** @opentelemetry/api SpanKind values, here so that callers need not load the API to name them. */
export const spanKind = { internal: 0, server: 1, client: 2 } as const;
/** @opentelemetry/api SpanStatusCode.ERROR. */
export const spanStatusError = 2;

export interface TracingOptions {
  /** The collector, `host:port` or `http://host:port` (OTLP over gRPC, plain text). */
  endpoint: string;
  /** resource service.name. */
  serviceName: string;
  /**
   * Sampling of a span with no parent, in percent (a span with a parent follows the parent's sampled
   * flag: parent-based). 0: a process never starts a trace of its own.
   */
  rootSamplingPercent: number;
  /** Spans held for export at most (default 2048); more are dropped and counted. */
  maxQueueSize?: number;
  /** How long finished spans wait for a batch (default 5000 ms, Envoy's flush interval). */
  scheduledDelayMs?: number;
  /** One export's deadline (default 10000 ms). */
  exportTimeoutMs?: number;
  /** TLS to the collector (lib/tls/grpc.ts grpcChannelCredentials); absent: plain text. */
  credentials?: ChannelCredentials;
}

/** What the process counts about its spans (exported to /metrics by its owner). */
export interface TracingCounters {
  /** Spans handed to the collector. */
  exported: number;
  /** Spans dropped: the queue was full (a slow or dead collector). */
  dropped: number;
  /** Spans whose export failed (the collector refused, was unreachable or timed out). */
  failed: number;
}

export interface Tracing {
  readonly tracer: Tracer;
  readonly counters: TracingCounters;
  /** The context of a W3C traceparent (and tracestate), for a child span; undefined when not valid. */
  parent(traceparent: string | undefined, tracestate?: string): Context | undefined;
  /** The traceparent of a span, for the next hop. */
  traceparent(span: Span): string;
  /** `span` as the parent of later spans. */
  withSpan(span: Span, parent?: Context): Context;
  /** Exports what is queued and stops (lib/lifecycle.ts closers). */
  shutdown(): Promise<void>;
  /** Exports what is queued now (tests). */
  flush(): Promise<void>;
}

export class TracingEndpointError extends GatehouseError {
  constructor(endpoint: string) {
    super(
      'GH_ERR_TRACING_ENDPOINT',
      `the OTLP endpoint ${JSON.stringify(endpoint)} is not host:port or http://host:port`,
      {
        exitCode: 2,
      },
    );
  }
}

const processedMetric = 'otel.sdk.processor.span.processed';

/** Loads the SDK and starts exporting. */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const url = endpointUrl(options.endpoint);
  const [api, core, base, resources, exporterPackage, semconv] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-grpc'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const counters: TracingCounters = { exported: 0, dropped: 0, failed: 0 };
  // The processor reports every span it finished with (exported, dropped for a full queue, failed) on
  // its self-observability counter; a meter of our own turns that into the counters.
  const noop = api.createNoopMeter();
  const meter = Object.create(noop) as typeof noop;
  meter.createCounter = (name: string, opts?: object) =>
    name === processedMetric
      ? {
          add(n: number, attrs?: Record<string, unknown>) {
            const error = attrs?.['error.type'];
            if (error === undefined) counters.exported += n;
            else if (error === 'queue_full') counters.dropped += n;
            else counters.failed += n;
          },
        }
      : noop.createCounter(name, opts);
  const exporter = new exporterPackage.OTLPTraceExporter({
    // With credentials the channel is TLS (the exporter asks for an https URL then).
    url: options.credentials ? url.replace(/^http:/, 'https:') : url,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    timeoutMillis: options.exportTimeoutMs ?? 10_000,
  });
  // selfObsMeterProvider is passed through by sdk-trace-base's BatchSpanProcessor to @opentelemetry/sdk-trace's,
  // which reads it, but is missing from the older config type it declares.
  const config = {
    maxQueueSize: options.maxQueueSize ?? 2048,
    maxExportBatchSize: Math.min(512, options.maxQueueSize ?? 2048),
    scheduledDelayMillis: options.scheduledDelayMs ?? 5000,
    exportTimeoutMillis: options.exportTimeoutMs ?? 10_000,
    selfObsMeterProvider: { getMeter: () => meter },
  };
  const processor = new base.BatchSpanProcessor(exporter, config);
  const percent = Math.min(100, Math.max(0, options.rootSamplingPercent));
  const root =
    percent >= 100
      ? new base.AlwaysOnSampler()
      : percent <= 0
        ? new base.AlwaysOffSampler()
        : new base.TraceIdRatioBasedSampler(percent / 100);
  const provider = new base.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: options.serviceName }),
    sampler: new base.ParentBasedSampler({ root }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('gatehouse');
  const propagator = new core.W3CTraceContextPropagator();
  const getter = {
    keys: (carrier: Record<string, string>) => Object.keys(carrier),
    get: (carrier: Record<string, string>, key: string) => carrier[key],
  };
  return {
    tracer,
    counters,
    parent(traceparent, tracestate) {
      if (!traceparent) return undefined;
      const carrier: Record<string, string> = { traceparent, ...(tracestate ? { tracestate } : {}) };
      const ctx = propagator.extract(api.ROOT_CONTEXT, carrier, getter);
      return api.trace.getSpanContext(ctx) ? ctx : undefined;
    },
    traceparent(span) {
      const c = span.spanContext();
      return `00-${c.traceId}-${c.spanId}-0${(c.traceFlags & 1).toString(16)}`;
    },
    withSpan: (span, parent) => api.trace.setSpan(parent ?? api.ROOT_CONTEXT, span),
    // An export that fails is counted (counters.failed); stopping or flushing never throws for it.
    shutdown: () => provider.shutdown().catch(() => undefined),
    flush: () => provider.forceFlush().catch(() => undefined),
  };
}

/** host:port or http://host:port to the exporter's URL; https is not offered (no TLS options yet). */
function endpointUrl(endpoint: string): string {
  const value = endpoint.trim();
  const withScheme = /^[a-z]+:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TracingEndpointError(endpoint);
  }
  if (url.protocol !== 'http:' || !url.hostname || !url.port || (url.pathname !== '/' && url.pathname !== ''))
    throw new TracingEndpointError(endpoint);
  return `http://${url.host}`;
}

/**
 * `<prefix>_trace_spans_total{result}`: spans exported, dropped (queue full) and failed (export
 * failed), read from the counters when scraped.
 */
export function registerTracingMetrics(registry: Registry, prefix: string, counters: TracingCounters): void {
  new Counter({
    name: `${prefix}_trace_spans_total`,
    help: 'finished spans by what became of them: exported, dropped (export queue full), failed (export failed)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'exported' }, counters.exported);
      this.inc({ result: 'dropped' }, counters.dropped);
      this.inc({ result: 'failed' }, counters.failed);
    },
  });
}
