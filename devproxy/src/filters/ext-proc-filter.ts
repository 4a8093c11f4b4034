// envoy.filters.http.ext_proc for one request, on the Envoy-side ext_proc driver (../ext-proc): the
// listener's filter config merged with the route's ExtProcPerRoute (disabled, processing mode, extra
// gRPC initial metadata such as x-gatehouse-route, request attributes), one stream per request to a
// host of the ext_proc cluster (over the cluster's TLS when it has one: mutual TLS to extproc),
// mutation rules, message_timeout and failure_mode_allow.
import type * as grpc from '@grpc/grpc-js';
import { createExtProcClient, type ExternalProcessorClient } from '../ext-proc/client.ts';
import { runExtProcExchange, type ConnectionInfo, type ExchangeResult } from '../ext-proc/exchange.ts';
import type { HttpRequest, HttpResponse } from '../http/message.ts';
import type { ExtProcFilterConfig, ExtProcRouteOverride, HeaderList } from '../config/model.ts';
import type { ClusterManager } from '../upstream/cluster-manager.ts';
import { localReply } from '../upstream/upstream-request.ts';
import { mutationCheck } from './mutation-rules.ts';

export interface ExtProcRun {
  config: ExtProcFilterConfig;
  override: ExtProcRouteOverride | undefined;
  request: HttpRequest;
  connection: ConnectionInfo;
  upstream: (request: HttpRequest) => Promise<HttpResponse>;
}

/** Listener metadata first; a route's entry replaces a listener's of the same key. */
function mergeMetadata(listener: HeaderList, route: HeaderList): HeaderList {
  const keys = new Set(route.map(([k]) => k));
  return [...listener.filter(([k]) => !keys.has(k)), ...route];
}

/** Only the attributes the filter config asks for are sent. */
function requestedAttributes(wanted: readonly string[], c: ConnectionInfo): ConnectionInfo {
  return {
    ...(wanted.includes('source.address') ? { sourceAddress: c.sourceAddress } : {}),
    ...(wanted.includes('request.id') ? { requestId: c.requestId } : {}),
    ...(wanted.includes('connection.mtls') ? { mtls: c.mtls } : {}),
    ...(wanted.includes('xds.route_name') ? { routeName: c.routeName } : {}),
  };
}

export class ExtProcFilter {
  private readonly clusters: ClusterManager;
  /** By address: the client and the cluster settings it was made for. */
  private readonly clients = new Map<string, { client: ExternalProcessorClient; poolKey: string }>();

  constructor(clusters: ClusterManager) {
    this.clusters = clusters;
  }

  async run(r: ExtProcRun): Promise<Pick<ExchangeResult, 'response' | 'failure' | 'violations'>> {
    if (r.override?.disabled) return { response: await r.upstream(r.request), violations: [] };
    const config = r.config;
    const target = await this.clusters.pick(r.override?.clusterName ?? config.clusterName);
    if (!('host' in target)) {
      // The stream cannot open: a gRPC error to Envoy, so failure_mode_allow decides.
      if (config.failureModeAllow)
        return { response: await r.upstream(r.request), failure: target.message, violations: [] };
      return {
        response: localReply(500, 'ext_proc error', `ext_proc_error_gRPC_error_14{${target.message}}`),
        failure: target.message,
        violations: [],
      };
    }
    try {
      return await runExtProcExchange({
        client: this.client(`${target.host}:${target.port}`, target.poolKey, target.grpcCredentials),
        initialMetadata: mergeMetadata(config.initialMetadata, r.override?.initialMetadata ?? []),
        mutationCheck: mutationCheck(config.mutationRules),
        mode: r.override?.processingMode ?? config.processingMode,
        request: r.request,
        upstream: r.upstream,
        connection: requestedAttributes(r.override?.requestAttributes ?? config.requestAttributes, r.connection),
        timeoutMs: config.messageTimeoutMs,
        failureModeAllow: config.failureModeAllow,
      });
    } finally {
      target.release();
    }
  }

  close(): void {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }

  /** One client per address; a cluster change (new TLS material included) makes a new one, the old one closes once its streams end. */
  private client(
    address: string,
    poolKey: string,
    credentials: grpc.ChannelCredentials | undefined,
  ): ExternalProcessorClient {
    const existing = this.clients.get(address);
    if (existing?.poolKey === poolKey) return existing.client;
    // The old client's streams (one per request, bounded by message_timeout) finish before it closes.
    if (existing) setTimeout(() => existing.client.close(), 30_000).unref();
    const client = createExtProcClient(address, undefined, credentials);
    this.clients.set(address, { client, poolKey });
    return client;
  }
}
