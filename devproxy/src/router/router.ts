// envoy.filters.http.router: sends the request to a host of the route's cluster with the rewritten
// path and the route's timeout, or answers locally as Envoy does: 404 when no route matched, the
// route's direct response, 503 when the cluster is unknown or has no healthy host.
import type { HttpRequest, HttpResponse } from '../http/message.ts';
import type { Route } from '../config/model.ts';
import type { ClusterManager } from '../upstream/cluster-manager.ts';
import { forward, localReply } from '../upstream/upstream-request.ts';
import { rewritePath } from './route-table.ts';

export class Router {
  private readonly clusters: ClusterManager;

  constructor(clusters: ClusterManager) {
    this.clusters = clusters;
  }

  async send(route: Route | undefined, req: HttpRequest): Promise<HttpResponse> {
    if (!route) return { status: 404, headers: [], body: Buffer.alloc(0) };
    if (route.directResponse)
      return {
        status: route.directResponse.status,
        headers: [['content-type', 'text/plain']],
        body: Buffer.from(route.directResponse.body),
      };
    const target = await this.clusters.pick(route.cluster);
    if (!('host' in target)) {
      return target.reason === 'no_cluster'
        ? localReply(503, '', 'cluster_not_found')
        : localReply(503, target.message, target.reason);
    }
    const headers = req.headers.filter(([n]) => n !== 'x-envoy-original-path');
    const path = rewritePath(route, req.path);
    if (path !== req.path) headers.push(['x-envoy-original-path', req.path]);
    return forward(target, { ...req, path, headers }, route.timeoutMs);
  }
}
