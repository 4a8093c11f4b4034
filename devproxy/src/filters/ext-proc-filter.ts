// envoy.filters.http.ext_proc for one request, on the Envoy-side ext_proc driver (../ext-proc): the
// listener's filter config merged with the route's ExtProcPerRoute (Filter::mergePerRouteConfig:
// disabled, processing mode, gRPC service, initial metadata merged by key), one stream per request to
// a host of the ext_proc cluster (over the cluster's TLS when it has one: mutual TLS to extproc).
import type * as grpc from '@grpc/grpc-js';
import type { ConnectionInfo } from '../ext-proc/attributes.ts';
import { createExtProcClient, type ExternalProcessorClient } from '../ext-proc/client.ts';
import { ExtProcUnavailableError } from '../ext-proc/errors.ts';
import { runExtProcExchange, type ExchangeResult, type UpstreamRouting } from '../ext-proc/exchange.ts';
import type { HeaderLimits } from '../ext-proc/header-mutation.ts';
import { localReply } from '../http/local-reply.ts';
import type { HttpRequest, HttpResponse } from '../http/message.ts';
import type { ExtProcFilterConfig, ExtProcRouteOverride, HeaderList } from '../config/model.ts';
import type { ClusterManager } from '../upstream/cluster-manager.ts';
import { extProcSpanName, type RequestSpan } from '../tracing/request-tracer.ts';

/**
 * No retries, transparent ones included: Envoy's AsyncClient does not retry an ext_proc stream. A
 * stream the server refused (RST_STREAM REFUSED_STREAM, or past the last stream of its GOAWAY, as
 * extproc's --max-connection-age and its drain send) ends in Envoy as a router reset without a
 * retry policy: gRPC UNAVAILABLE, then Filter::onGrpcError applies failure_mode_allow. grpc-js
 * would start it again once on another connection ('REFUSED' in its RetryingCall) and hide that
 * (docs/operations.md#connection-age).
 */
export const envoyGrpcClientOptions: grpc.ClientOptions = {
  'grpc.enable_retries': 0,
  // Its own connection, as each Envoy holds its own: never one shared with another client in the process.
  'grpc.use_local_subchannel_pool': 1,
};

export interface ExtProcRun {
  config: ExtProcFilterConfig;
  override: ExtProcRouteOverride | undefined;
  request: HttpRequest;
  connection: ConnectionInfo;
  upstream: (request: HttpRequest, routing: UpstreamRouting) => Promise<HttpResponse>;
  /** The stream's buffer limit (listener per_connection_buffer_limit_bytes, or the HTTP/2 stream window). */
  bufferLimitBytes: number;
  headerLimits: HeaderLimits;
  /** The request's span when the HCM traces: the stream gets a child span, its context in the gRPC metadata. */
  span?: RequestSpan;
}

/** mergeHeaderValuesField: an entry of the route replaces every entry of the same key, or is added. */
function mergeMetadata(base: HeaderList, route: HeaderList): HeaderList {
  const out = [...base];
  for (const [key, value] of route) {
    const at = out.findIndex(([k]) => k === key);
    if (at < 0) out.push([key, value]);
    else for (let i = 0; i < out.length; i++) if (out[i]![0] === key) out[i] = [key, value];
  }
  return out;
}

export class ExtProcFilter {
  private readonly clusters: ClusterManager;
  /** By address: the client and the cluster settings it was made for. */
  private readonly clients = new Map<string, { client: ExternalProcessorClient; poolKey: string; createdAt: number }>();

  constructor(clusters: ClusterManager) {
    this.clusters = clusters;
  }

  async run(
    r: ExtProcRun,
  ): Promise<Pick<ExchangeResult, 'response' | 'failure' | 'failureCode' | 'violations'> & Partial<ExchangeResult>> {
    // allDisabledMode: no message is sent, so no stream is opened.
    if (r.override?.disabled)
      return { response: await r.upstream(r.request, { clearRouteCache: false }), violations: [] };
    const config = r.config;
    const service = r.override?.service ?? { clusterName: config.clusterName, initialMetadata: config.initialMetadata };
    const target = await this.clusters.pick(service.clusterName);
    if (!('host' in target)) {
      // The stream cannot open: a gRPC UNAVAILABLE to the filter (Filter::onGrpcError), so failure_mode_allow decides.
      const error = new ExtProcUnavailableError(target.message);
      if (config.failureModeAllow)
        return {
          response: await r.upstream(r.request, { clearRouteCache: false }),
          failure: error.message,
          failureCode: error.code,
          violations: [],
        };
      return {
        response: localReply(500, '', `ext_proc_error_gRPC_error_14{${target.message.replace(/\s/g, '_')}}`, {
          request: r.request,
        }),
        failure: error.message,
        failureCode: error.code,
        violations: [],
      };
    }
    // Envoy's gRPC client spans the stream and injects the span's context into its initial metadata
    // (Grpc::AsyncStreamImpl: parent_span_.spawnChild, injectContext).
    const span = r.span?.child(extProcSpanName, { component: 'proxy', upstream_cluster: service.clusterName });
    const metadata = mergeMetadata(service.initialMetadata, r.override?.initialMetadata ?? []);
    let failure: string | undefined;
    try {
      const result = await runExtProcExchange({
        client: this.client(
          `${target.host}:${target.port}`,
          target.poolKey,
          target.grpcCredentials,
          target.cluster.maxConnectionDurationMs,
        ),
        initialMetadata: span ? [...metadata, ['traceparent', span.traceparent()]] : metadata,
        mutationRules: config.mutationRules,
        mode: r.override?.processingMode ?? config.processingMode,
        filterMode: config.processingMode,
        allowModeOverride: config.allowModeOverride,
        request: r.request,
        upstream: r.upstream,
        connection: r.connection,
        // Envoy uses the listener's attributes even where a route names its own (not implemented there).
        requestAttributes: config.requestAttributes,
        responseAttributes: config.responseAttributes,
        timeoutMs: config.messageTimeoutMs,
        maxMessageTimeoutMs: config.maxMessageTimeoutMs,
        failureModeAllow: config.failureModeAllow,
        bufferLimitBytes: r.bufferLimitBytes,
        routeCacheAction: config.routeCacheAction,
        disableImmediateResponse: config.disableImmediateResponse,
        headerLimits: r.headerLimits,
        receivingNamespaces: config.receivingNamespaces,
      });
      failure = result.failure;
      return result;
    } catch (err) {
      failure = (err as Error).message;
      throw err;
    } finally {
      span?.endStream(failure);
      target.release();
    }
  }

  close(): void {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }

  /**
   * One client per address, with its own connection; a cluster change (new TLS material included)
   * makes a new one, and so does the cluster's max_connection_duration, as Envoy's pool retires a
   * connection at that age (ActiveClient::onConnectionDurationTimeout: the next stream opens a new
   * connection). The old client's started streams run to their end (grpc-js close() cancels only
   * calls not yet started, which the delay lets start).
   */
  private client(
    address: string,
    poolKey: string,
    credentials: grpc.ChannelCredentials | undefined,
    maxConnectionDurationMs: number | undefined,
  ): ExternalProcessorClient {
    const existing = this.clients.get(address);
    const now = Date.now();
    const expired =
      maxConnectionDurationMs !== undefined &&
      existing !== undefined &&
      now - existing.createdAt >= maxConnectionDurationMs;
    if (existing?.poolKey === poolKey && !expired) return existing.client;
    if (existing) setTimeout(() => existing.client.close(), 30_000).unref();
    const client = createExtProcClient(address, envoyGrpcClientOptions, credentials);
    this.clients.set(address, { client, poolKey, createdAt: now });
    return client;
  }
}
