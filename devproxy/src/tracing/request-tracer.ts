// envoy.tracers.opentelemetry as devproxy plays it (docs/architecture-devproxy.md): one span per request
// ("ingress", server kind, Envoy's HttpTracerUtility tags), a child per ext_proc stream ("async
// envoy.service.ext_proc.v3.ExternalProcessor.Process egress", Envoy's gRPC AsyncStreamImpl span,
// whose context goes in the stream's gRPC metadata), and the request span's context injected into the
// upstream request as `traceparent` (the router's injectContext). A request's traceparent is its
// parent and its sampled flag decides (Envoy's OpenTelemetry driver); without one random_sampling does.
// Spans are exported over OTLP gRPC to a host of the configured cluster, through the SDK
// (lib/tracing.ts), which is loaded the first time a listener that traces sees a request.
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { spanKind, spanStatusError, startTracing, type Span, type Tracing } from '../../../lib/tracing.ts';
import type { TracingConfig } from '../config/tracing.ts';
import { header, type HttpRequest } from '../http/message.ts';
import type { ClusterManager } from '../upstream/cluster-manager.ts';

export const extProcSpanName = 'async envoy.service.ext_proc.v3.ExternalProcessor.Process egress';

export interface RequestTracerOptions {
  clusters: ClusterManager;
  log: Logger;
  /** How long finished spans wait for a batch (Envoy: 5 s); tests shorten it. */
  scheduledDelayMs?: number;
}

/** A span devproxy made for a request or for one of its ext_proc streams. */
export class RequestSpan {
  private readonly tracing: Tracing;
  readonly span: Span;

  constructor(tracing: Tracing, span: Span) {
    this.tracing = tracing;
    this.span = span;
  }

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  /** The W3C traceparent the next hop gets. */
  traceparent(): string {
    return this.tracing.traceparent(this.span);
  }

  /** A child span of this one (the ext_proc stream's). */
  child(name: string, attributes: Record<string, string>): RequestSpan {
    const span = this.tracing.tracer.startSpan(
      name,
      { kind: spanKind.client, attributes },
      this.tracing.withSpan(this.span),
    );
    return new RequestSpan(this.tracing, span);
  }

  /** Ends an ext_proc stream span; `failure` when the stream failed (unavailable, timeout, error status). */
  endStream(failure: string | undefined): void {
    if (failure !== undefined) this.span.setStatus({ code: spanStatusError, message: failure });
    this.span.end();
  }

  /** Ends the request span (HttpTracerUtility::finalizeDownstreamSpan's tags). */
  endRequest(status: number, upstreamCluster: string | undefined, responseFlags: string): void {
    this.span.setAttributes({
      'http.status_code': String(status),
      response_flags: responseFlags,
      ...(upstreamCluster ? { upstream_cluster: upstreamCluster } : {}),
    });
    if (status >= 500) {
      this.span.setAttribute('error', 'true');
      this.span.setStatus({ code: spanStatusError });
    }
    this.span.end();
  }
}

export class RequestTracer {
  private readonly options: RequestTracerOptions;
  /** One SDK tracer provider per collector address, service name and sampling. */
  private readonly providers = new Map<string, Promise<Tracing>>();

  constructor(options: RequestTracerOptions) {
    this.options = options;
  }

  /** The request's span; undefined when the collector cluster has no host (nothing to export to). */
  async start(config: TracingConfig, request: HttpRequest): Promise<RequestSpan | undefined> {
    const target = await this.options.clusters.pick(config.clusterName);
    if (!('host' in target)) return undefined;
    target.release();
    // A cluster with an UpstreamTlsContext (spec.tracing.tls) gives its gRPC credentials: spans go over TLS.
    const tracing = await this.provider(
      `${target.host}:${target.port}`,
      config,
      target.grpcCredentials,
      target.poolKey,
    );
    const parent = tracing.parent(header(request.headers, 'traceparent'), header(request.headers, 'tracestate'));
    const span = tracing.tracer.startSpan(
      'ingress',
      {
        kind: spanKind.server,
        attributes: {
          component: 'proxy',
          'guid:x-request-id': header(request.headers, 'x-request-id') ?? '',
          'http.method': request.method,
          // Envoy's buildUrl: the path with its query, as Envoy tags it (docs/operations.md#tracing on API
          // keys in query strings).
          'http.url': `${header(request.headers, 'x-forwarded-proto') ?? 'http'}://${request.authority ?? ''}${request.path}`,
          'http.protocol': request.protocol ?? '',
        },
      },
      parent,
    );
    return new RequestSpan(tracing, span);
  }

  private provider(
    endpoint: string,
    config: TracingConfig,
    credentials: ChannelCredentials | undefined,
    cluster: string,
  ): Promise<Tracing> {
    const key = `${endpoint}|${config.serviceName}|${config.randomSamplingPercent}|${credentials ? cluster : 'plain'}`;
    let tracing = this.providers.get(key);
    if (!tracing) {
      tracing = startTracing({
        endpoint,
        serviceName: config.serviceName,
        rootSamplingPercent: config.randomSamplingPercent,
        ...(credentials ? { credentials } : {}),
        ...(this.options.scheduledDelayMs !== undefined ? { scheduledDelayMs: this.options.scheduledDelayMs } : {}),
      });
      this.providers.set(key, tracing);
      this.options.log.info({ collector: endpoint, serviceName: config.serviceName }, 'tracing to collector');
    }
    return tracing;
  }

  /** Exports what is queued now (tests). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.providers.values()].map(async (p) => (await p).flush()));
  }

  /** Exports what is queued and stops every provider; a collector that does not answer holds this up 2 s at most. */
  async close(): Promise<void> {
    const all = [...this.providers.values()];
    this.providers.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(all.map(async (p) => (await p).shutdown())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
    ]);
    clearTimeout(timer);
  }
}
