// envoy.filters.http.router (source/common/router/router.cc): sends the request to a host of the
// route's cluster with the route's path rewrite (recording x-envoy-original-path) and timeout
// (x-envoy-expected-rq-timeout-ms), and adds x-envoy-upstream-service-time to what comes back; or
// answers locally as Envoy does: 404 with no body when no route matched, the route's direct
// response, 503 for an unknown cluster (no body) or one without a healthy host (`no healthy upstream`).
// The envoy headers are left out with suppress_envoy_headers.
import { localReply } from '../http/local-reply.ts';
import { withHeader, type HttpRequest, type HttpResponse } from '../http/message.ts';
import type { StreamInfo } from '../access-log/stream-info.ts';
import type { Route } from '../config/model.ts';
import type { ClusterManager } from '../upstream/cluster-manager.ts';
import { forward } from '../upstream/upstream-request.ts';
import { hasRewrite, rewritePath } from './route-table.ts';

export class Router {
  private readonly clusters: ClusterManager;

  constructor(clusters: ClusterManager) {
    this.clusters = clusters;
  }

  async send(
    route: Route | undefined,
    req: HttpRequest,
    suppressEnvoyHeaders = false,
    streamIdleTimeoutMs = 0,
    info?: StreamInfo,
  ): Promise<HttpResponse> {
    if (!route) return localReply(404, '', 'route_not_found', { request: req });
    if (route.directResponse)
      return localReply(route.directResponse.status, route.directResponse.body, 'direct_response', { request: req });
    const target = await this.clusters.pick(route.cluster);
    if (!('host' in target)) {
      return target.reason === 'no_cluster'
        ? localReply(503, '', 'cluster_not_found', { request: req })
        : localReply(503, target.message, target.reason, { request: req });
    }
    let headers = req.headers;
    let path = req.path;
    if (hasRewrite(route)) {
      // RouteEntryImplBase::finalizePathHeader: the path before the rewrite is kept, whenever a rewrite is configured.
      if (!suppressEnvoyHeaders) headers = withHeader(headers, 'x-envoy-original-path', req.path);
      path = rewritePath(route, req.path);
    }
    if (!suppressEnvoyHeaders && route.timeoutMs > 0)
      headers = withHeader(headers, 'x-envoy-expected-rq-timeout-ms', String(route.timeoutMs));
    const started = performance.now();
    const upstreamRequest = { ...req, path, headers };
    if (info) {
      // The router changes the downstream header map in place: the access log sees x-envoy-original-path.
      info.request = upstreamRequest;
      info.upstreamHost = `${target.host}:${target.port}`;
    }
    const response = await forward(target, upstreamRequest, { routeTimeoutMs: route.timeoutMs, streamIdleTimeoutMs });
    // The response is read whole: %RESPONSE_DURATION% is measured to its end, not its first byte.
    if (info && !response.localReply) info.upstreamResponseMs = performance.now();
    if (response.localReply || suppressEnvoyHeaders) return response;
    return {
      ...response,
      headers: withHeader(
        response.headers,
        'x-envoy-upstream-service-time',
        String(Math.round(performance.now() - started)),
      ),
    };
  }
}
