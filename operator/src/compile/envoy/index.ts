// IR -> Envoy resources (plain JSON in the proto3 JSON mapping, Any as {"@type": ...}).
import type { Ir, IrEndpoint, IrExtProcTls } from '../ir.ts';
import { emitClusters, emitEndpoints } from './clusters.ts';
import { emitListeners } from './listeners.ts';
import type { Json } from './names.ts';
import { emitRouteConfiguration } from './routes.ts';

export interface EnvoyResources {
  listeners: Json[];
  routes: Json[];
  clusters: Json[];
  endpoints: Json[];
}

export function emitEnvoy(ir: Ir, extProc: IrEndpoint, extProcTls?: IrExtProcTls): EnvoyResources {
  return {
    listeners: emitListeners(ir.dataPlanes),
    routes: [emitRouteConfiguration(ir.proxies)],
    clusters: emitClusters(ir.proxies, extProc, extProcTls),
    endpoints: emitEndpoints(ir.proxies, ir.serviceEndpoints),
  };
}
