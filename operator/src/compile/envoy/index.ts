// IR -> Envoy resources: plain objects in the proto3 JSON mapping (Any as {"@type": ...}), typed with
// protos/gen/json (scripts/gen-json-types.ts), so a field Envoy does not have is a type error.
// Emitted per DataPlane (docs/architecture.md#the-operator, per-DataPlane configuration): its
// listeners, a route table per listener with the proxies that listener admits, the clusters of those
// proxies and its own extproc cluster. The fleet's resources are the union (every name is unique
// across DataPlanes: listeners and route tables carry the DataPlane, proxy clusters are the same
// wherever served); each DataPlane's view names its part of them.
import type { Cluster } from '../../../../protos/gen/json/envoy.config.cluster.v3.ts';
import type { ClusterLoadAssignment } from '../../../../protos/gen/json/envoy.config.endpoint.v3.ts';
import type { Listener } from '../../../../protos/gen/json/envoy.config.listener.v3.ts';
import type { RouteConfiguration } from '../../../../protos/gen/json/envoy.config.route.v3.ts';
import { attachments } from '../attach.ts';
import type { Ir, IrDataPlane, IrProxy } from '../ir.ts';
import { emitClusters, emitEndpoints, extProcCluster, type ExtProcLink } from './clusters.ts';
import { emitListeners } from './listeners.ts';
import { emitRouteConfiguration } from './routes.ts';
import { tracingCluster } from './tracing.ts';
import { SdsSecretRefs, type SdsSecretRef } from './secrets.ts';

export type { SdsSecretRef } from './secrets.ts';
export type { ExtProcLink } from './clusters.ts';

export interface EnvoyResources {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
}

/** What one DataPlane's nodes are served: its resources, and the SDS secrets they name. */
export interface DataPlaneEnvoy {
  resources: EnvoyResources;
  secretRefs: SdsSecretRef[];
  /** The proxies its listeners serve, sorted by namespace/name. */
  proxies: IrProxy[];
}

/** One DataPlane's resources. */
export function emitDataPlaneEnvoy(ir: Ir, dp: IrDataPlane, extProc: ExtProcLink): DataPlaneEnvoy {
  const sds = new SdsSecretRefs();
  const attached = attachments(dp, ir.proxies);
  const served = new Set([...attached.values()].flatMap((list) => list.map((a) => a.proxy)));
  const proxies = ir.proxies.filter((p) => served.has(p));
  return {
    resources: {
      listeners: emitListeners(dp, sds),
      routes: dp.listeners.map((l) => emitRouteConfiguration(l.name, attached.get(l.name) ?? [])),
      clusters: [
        extProcCluster(dp, extProc),
        ...(dp.tracing ? [tracingCluster(dp, dp.tracing, sds)] : []),
        ...emitClusters(proxies, sds),
      ],
      endpoints: emitEndpoints(proxies, ir.serviceEndpoints),
    },
    secretRefs: sds.list(),
    proxies,
  };
}

const byName =
  <T>(name: (item: T) => string | undefined) =>
  (a: T, b: T) => {
    const x = name(a) ?? '';
    const y = name(b) ?? '';
    return x < y ? -1 : x > y ? 1 : 0;
  };

/** The union of the DataPlanes' resources, each name once, sorted by name. */
export function unionOf(parts: readonly DataPlaneEnvoy[]): { resources: EnvoyResources; secretRefs: SdsSecretRef[] } {
  const unique = <T>(items: T[], name: (item: T) => string | undefined): T[] =>
    [...new Map(items.map((i) => [name(i) ?? '', i])).values()].sort(byName(name));
  return {
    resources: {
      listeners: unique(
        parts.flatMap((p) => p.resources.listeners),
        (l) => l.name,
      ),
      routes: unique(
        parts.flatMap((p) => p.resources.routes),
        (r) => r.name,
      ),
      clusters: unique(
        parts.flatMap((p) => p.resources.clusters),
        (c) => c.name,
      ),
      endpoints: unique(
        parts.flatMap((p) => p.resources.endpoints),
        (e) => e.cluster_name,
      ),
    },
    secretRefs: unique(
      parts.flatMap((p) => p.secretRefs),
      (s) => s.name,
    ),
  };
}
