// envoy.filters.network.http_connection_manager for one listener: path normalisation, the request
// id and forwarding headers Envoy adds (use_remote_address), route selection from the RDS route
// table, then the HTTP filter chain: ext_proc (when configured) in front of the router.
import { randomUUID } from 'node:crypto';
import type { HttpResponse } from '../http/message.ts';
import type { ListenerConfig, RouteTableConfig } from '../config/model.ts';
import type { ExtProcFilter } from '../filters/ext-proc-filter.ts';
import { matchRoute, normalizePath } from '../router/route-table.ts';
import type { Router } from '../router/router.ts';
import type { DownstreamRequest } from './http-listener.ts';

export interface ConnectionManagerDeps {
  routeTable: (name: string) => RouteTableConfig | undefined;
  router: Router;
  extProc: ExtProcFilter;
}

export async function handleRequest(
  listener: ListenerConfig,
  deps: ConnectionManagerDeps,
  d: DownstreamRequest,
): Promise<HttpResponse> {
  const q = d.request.path.indexOf('?');
  const rawPath = q < 0 ? d.request.path : d.request.path.slice(0, q);
  const path = normalizePath(rawPath, listener.normalizePath, listener.mergeSlashes);
  const headers = [...d.request.headers];
  const requestId = headers.find(([n]) => n === 'x-request-id')?.[1] ?? randomUUID();
  if (!headers.some(([n]) => n === 'x-request-id')) headers.push(['x-request-id', requestId]);
  // use_remote_address: the peer is appended to x-forwarded-for, and x-forwarded-proto set.
  const clientIp = d.remoteAddress.replace(/^::ffff:/, '');
  const xff = headers.findIndex(([n]) => n === 'x-forwarded-for');
  if (xff >= 0) headers[xff] = ['x-forwarded-for', `${headers[xff]![1]},${clientIp}`];
  else headers.push(['x-forwarded-for', clientIp]);
  if (!headers.some(([n]) => n === 'x-forwarded-proto'))
    headers.push(['x-forwarded-proto', d.request.scheme ?? 'http']);
  const request = { ...d.request, path: path + (q < 0 ? '' : d.request.path.slice(q)), headers };

  const table = deps.routeTable(listener.routeConfigName);
  const route = table ? matchRoute(table, { authority: request.authority ?? '', path, headers }) : undefined;
  const upstream = (req: typeof request) => deps.router.send(route, req);
  if (!listener.extProc) return upstream(request);
  const result = await deps.extProc.run({
    config: listener.extProc,
    override: route?.extProcOverrides.get(listener.extProc.filterName),
    request,
    connection: { sourceAddress: `${clientIp}:${d.remotePort}`, requestId, mtls: d.mtls, routeName: route?.name ?? '' },
    upstream,
  });
  return result.response;
}
