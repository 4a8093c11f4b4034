// A runtime snapshot made ready to serve: decoded, every proxy's flows compiled (policies created once),
// consumer data indexed. Building one either succeeds completely or throws: a snapshot is never half
// applied.
import type { RuntimeSnapshot__Output } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { compileProxy, policyBodyNeeds, type BodyNeeds, type CompiledProxy, type PolicyRegistry } from '../flow/compile.ts';
import type { RuntimeIndex } from '../flow/types.ts';
import { policyRegistry } from '../policies/registry.ts';
import { decodeRuntimeSnapshot, SnapshotInvalidError } from './decode.ts';
import { SnapshotRuntimeIndex } from './runtime-index.ts';

export interface LoadedSnapshot {
  readonly version: string;
  readonly runtime: RuntimeIndex;
  /** Compiled proxies by route ("<namespace>/<name>", the x-gatehouse-route metadata). */
  readonly routes: ReadonlyMap<string, CompiledProxy>;
  /** The environment.name variable: the region of the data plane this snapshot is for. */
  readonly environmentName: string;
}

/** The policy implementations a snapshot is built with; tests inject their own. */
export interface PolicyCatalog {
  registry: PolicyRegistry;
  bodyNeeds: BodyNeeds;
}

export const defaultCatalog: PolicyCatalog = { registry: policyRegistry, bodyNeeds: policyBodyNeeds };

export function loadSnapshot(snapshot: RuntimeSnapshot__Output, catalog: PolicyCatalog = defaultCatalog): LoadedSnapshot {
  const routes = new Map<string, CompiledProxy>();
  for (const proxy of snapshot.proxies) {
    const route = proxy.route || `${proxy.namespace}/${proxy.name}`;
    if (routes.has(route)) throw new SnapshotInvalidError(`two proxies share the route "${route}"`);
    routes.set(route, compileProxy(proxy, catalog.registry, catalog.bodyNeeds));
  }
  if (snapshot.credentialHashKey !== '' && !/^([0-9a-f]{2})+$/i.test(snapshot.credentialHashKey)) {
    throw new SnapshotInvalidError('credentialHashKey is not hex');
  }
  return {
    version: snapshot.version,
    runtime: new SnapshotRuntimeIndex(snapshot),
    routes,
    environmentName: snapshot.dataPlanes[0]?.region ?? '',
  };
}

/** `gatehouse compile` output: `{version, runtime, envoy}`; a bare RuntimeSnapshot is accepted too. */
export function loadSnapshotDocument(document: unknown, catalog: PolicyCatalog = defaultCatalog): LoadedSnapshot {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new SnapshotInvalidError('snapshot file is not a JSON object');
  }
  const runtime = 'runtime' in document ? document.runtime : document;
  return loadSnapshot(decodeRuntimeSnapshot(runtime), catalog);
}
