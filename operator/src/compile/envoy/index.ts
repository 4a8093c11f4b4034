// IR -> Envoy resources: plain objects in the proto3 JSON mapping (Any as {"@type": ...}), typed with
// protos/gen/json (scripts/gen-json-types.ts), so a field Envoy does not have is a type error.
import type { Cluster } from '../../../../protos/gen/json/envoy.config.cluster.v3.ts';
import type { ClusterLoadAssignment } from '../../../../protos/gen/json/envoy.config.endpoint.v3.ts';
import type { Listener } from '../../../../protos/gen/json/envoy.config.listener.v3.ts';
import type { RouteConfiguration } from '../../../../protos/gen/json/envoy.config.route.v3.ts';
import type { Ir, IrEndpoint, IrExtProcTls } from '../ir.ts';
import { emitClusters, emitEndpoints } from './clusters.ts';
import { emitListeners } from './listeners.ts';
import { emitRouteConfiguration } from './routes.ts';
import { SdsSecretRefs, type SdsSecretRef } from './secrets.ts';

export type { SdsSecretRef } from './secrets.ts';

export interface EnvoyResources {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
}

/** The Envoy resources, and the SDS secrets they ask the ADS server for (recorded as they are emitted). */
export function emitEnvoy(
  ir: Ir,
  extProc: IrEndpoint,
  extProcTls?: IrExtProcTls,
): { resources: EnvoyResources; secretRefs: SdsSecretRef[] } {
  const sds = new SdsSecretRefs();
  const resources: EnvoyResources = {
    listeners: emitListeners(ir.dataPlanes, sds),
    routes: [emitRouteConfiguration(ir.proxies)],
    clusters: emitClusters(ir.proxies, sds, extProc, extProcTls),
    endpoints: emitEndpoints(ir.proxies, ir.serviceEndpoints),
  };
  return { resources, secretRefs: sds.list() };
}
