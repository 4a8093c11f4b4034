// A runtime snapshot made ready to serve: decoded, every proxy's flows compiled (policies created once),
// consumer data indexed. Building one either succeeds completely or throws: a snapshot is never half
// applied. A proxy whose message is unchanged since the previous load keeps its compiled flows: one
// edit among 1,000 proxies recompiles one proxy, not all of them.
import { createHash } from 'node:crypto';
import type { DebugSession__Output } from '../../../protos/gen/gatehouse/v1/DebugSession.ts';
import type { Analytics__Output } from '../../../protos/gen/gatehouse/v1/Analytics.ts';
import type { FlowHooks__Output } from '../../../protos/gen/gatehouse/v1/FlowHooks.ts';
import type { Proxy__Output } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import type { RuntimeSnapshot__Output } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import {
  compileProxy,
  compileSharedFlows,
  policyBodyNeeds,
  type BodyNeeds,
  type CompiledProxy,
  type PolicyRegistry,
} from '../flow/compile.ts';
import { compileCondition, type Predicate } from '../flow/conditions.ts';
import type { RuntimeIndex } from '../flow/types.ts';
import { policyRegistry } from '../policies/registry.ts';
import { decodeRuntimeSnapshot, SnapshotInvalidError } from './decode.ts';
import { SnapshotRuntimeIndex } from './runtime-index.ts';

export interface LoadedSnapshot {
  readonly version: string;
  /** The decoded message it was built from: what `--workers` hands each worker (cluster/primary.ts). */
  readonly message: RuntimeSnapshot__Output;
  readonly runtime: RuntimeIndex;
  /** Compiled proxies by route ("<namespace>/<name>", the x-gatehouse-route metadata). */
  readonly routes: ReadonlyMap<string, CompiledProxy>;
  /** The environment.name variable: the region of the data plane this snapshot is for. */
  readonly environmentName: string;
  /** "namespace/name" of the DataPlane this snapshot is for ('' without one), for analytics records. */
  readonly dataPlane: string;
  /** The DataPlane's analytics (docs/operations.md#analytics); undefined: off. */
  readonly analytics: Analytics__Output | undefined;
  /** The snapshot's Secret values (policy_secrets), for the analytics sinks' TLS material and headers. */
  readonly secrets: Record<string, string>;
  /** The catalog the routes were compiled with and each route's proxy content key: what the next load may reuse. */
  readonly compiledWith: { catalog: PolicyCatalog; proxyKeys: ReadonlyMap<string, string> };
  /** The active debug sessions (docs/operations.md#debug-sessions); absent when there is none. */
  readonly debug?: DebugSessionIndex;
}

/** One active debug session with its filter compiled. */
export interface LoadedDebugSession {
  readonly session: DebugSession__Output;
  /** The session's filter (absent: every transaction matches), evaluated like a step's condition. */
  readonly filter: Predicate;
}

/** The snapshot's debug sessions, indexed for the stream: one map lookup per request while any is active. */
export interface DebugSessionIndex {
  /** Sessions by route (x-gatehouse-route), i.e. by the namespace and name of the proxy they trace. */
  readonly byRoute: ReadonlyMap<string, readonly LoadedDebugSession[]>;
  /** Values masked wherever they appear in a capture, whatever the mask says: policy secrets, encrypted KVM values. */
  readonly secrets: readonly string[];
}

/** The policy implementations a snapshot is built with; tests inject their own. */
export interface PolicyCatalog {
  registry: PolicyRegistry;
  bodyNeeds: BodyNeeds;
}

export const defaultCatalog: PolicyCatalog = { registry: policyRegistry, bodyNeeds: policyBodyNeeds };

/**
 * Identifies a proxy message by content. A compiled proxy depends on nothing else but the catalog: its
 * policies' configs are inside the message, and the snapshot-wide parts (apps, products, credential
 * key, region) are read through the RuntimeIndex and LoadedSnapshot at request time, never compiled in.
 * Decoded messages have a fixed key order (the schema's), so equal content gives equal JSON.
 */
function proxyContentKey(proxy: Proxy__Output): string {
  return createHash('sha256').update(JSON.stringify(proxy)).digest('hex');
}

/** `previous`: the snapshot being replaced, whose compiled proxies are reused where the proxy is unchanged. */
export function loadSnapshot(
  snapshot: RuntimeSnapshot__Output,
  catalog: PolicyCatalog = defaultCatalog,
  previous?: LoadedSnapshot,
): LoadedSnapshot {
  const routes = new Map<string, CompiledProxy>();
  const proxyKeys = new Map<string, string>();
  const reusable = previous?.compiledWith.catalog === catalog ? previous : undefined;
  // Flow hooks are a DataPlane's: a view for several DataPlanes could not say whose run (fail closed).
  if (snapshot.dataPlanes.length > 1 && snapshot.dataPlanes.some((d) => hasHooks(d.flowHooks)))
    throw new SnapshotInvalidError(
      'a snapshot of several DataPlanes with flow hooks: serve one DataPlane its own view',
    );
  const hooks = snapshot.dataPlanes[0]?.flowHooks;
  // Shared flows and hooks are compiled into the proxies that use them: a proxy compiled with other
  // ones is not reused (its key carries theirs).
  const sharedKey =
    snapshot.sharedFlows.length > 0 || hasHooks(hooks)
      ? createHash('sha256')
          .update(JSON.stringify([snapshot.sharedFlows, hooks]))
          .digest('hex')
      : '';
  let shared: ReturnType<typeof compileSharedFlows> | undefined;
  for (const proxy of snapshot.proxies) {
    const route = proxy.route || `${proxy.namespace}/${proxy.name}`;
    if (routes.has(route)) throw new SnapshotInvalidError(`two proxies share the route "${route}"`);
    const before = reusable?.routes.get(route);
    const beforeKey = reusable?.compiledWith.proxyKeys.get(route);
    // The same message object (RuntimeSnapshotDecoder hands out unchanged proxies so) needs no key.
    const content =
      before?.proxy === proxy && beforeKey !== undefined ? beforeKey.split('|')[0]! : proxyContentKey(proxy);
    const key = `${content}|${sharedKey}`;
    if (!(before && key === beforeKey))
      shared ??= compileSharedFlows(snapshot.sharedFlows, hooks, catalog.registry, catalog.bodyNeeds);
    routes.set(
      route,
      before && key === beforeKey ? before : compileProxy(proxy, catalog.registry, catalog.bodyNeeds, shared),
    );
    proxyKeys.set(route, key);
  }
  if (snapshot.credentialHashKey !== '' && !/^([0-9a-f]{2})+$/i.test(snapshot.credentialHashKey)) {
    throw new SnapshotInvalidError('credentialHashKey is not hex');
  }
  const debug = snapshot.debugSessions?.length ? debugSessionIndex(snapshot, routes) : undefined;
  return {
    version: snapshot.version,
    message: snapshot,
    runtime: new SnapshotRuntimeIndex(snapshot),
    routes,
    environmentName: snapshot.dataPlanes[0]?.region ?? '',
    dataPlane: snapshot.dataPlanes[0] ? `${snapshot.dataPlanes[0].namespace}/${snapshot.dataPlanes[0].name}` : '',
    analytics: snapshot.dataPlanes[0]?.analytics ?? undefined,
    secrets: snapshot.policySecrets,
    compiledWith: { catalog, proxyKeys },
    ...(debug ? { debug } : {}),
  };
}

/**
 * Indexes the debug sessions by the route of the proxy each names: namespace and name both, so a
 * session never sees another namespace's proxy of the same name. A session of a proxy this snapshot
 * does not serve is left out; a filter that does not compile makes the snapshot invalid, like any
 * condition (the operator compiled it, so that is a version skew).
 */
function debugSessionIndex(
  snapshot: RuntimeSnapshot__Output,
  routes: ReadonlyMap<string, CompiledProxy>,
): DebugSessionIndex | undefined {
  const routeOf = new Map<string, string>();
  for (const [route, compiled] of routes) routeOf.set(`${compiled.proxy.namespace}/${compiled.proxy.name}`, route);
  const byRoute = new Map<string, LoadedDebugSession[]>();
  for (const [i, session] of snapshot.debugSessions.entries()) {
    const route = routeOf.get(`${session.namespace}/${session.proxy}`);
    if (route === undefined) continue;
    let filter: Predicate;
    try {
      filter = compileCondition(session.filter);
    } catch (err) {
      throw new SnapshotInvalidError(
        `debugSessions[${i}] (${session.namespace}/${session.name}).filter: ${(err as Error).message}`,
        { cause: err },
      );
    }
    byRoute.set(route, [...(byRoute.get(route) ?? []), { session, filter }]);
  }
  if (byRoute.size === 0) return undefined;
  const secrets = new Set<string>(Object.values(snapshot.policySecrets));
  for (const map of snapshot.keyValueMaps ?? []) {
    if (!map.encrypted) continue;
    for (const { values } of Object.values(map.entries)) for (const value of values) secrets.add(value);
  }
  secrets.delete('');
  return { byRoute, secrets: [...secrets] };
}

function hasHooks(hooks: FlowHooks__Output | null | undefined): boolean {
  return (
    !!hooks && (hooks.preProxy !== '' || hooks.preTarget !== '' || hooks.postTarget !== '' || hooks.postProxy !== '')
  );
}

/** `gatehouse compile` output: `{version, runtime, envoy}`; a bare RuntimeSnapshot is accepted too. */
export function loadSnapshotDocument(
  document: unknown,
  catalog: PolicyCatalog = defaultCatalog,
  previous?: LoadedSnapshot,
): LoadedSnapshot {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new SnapshotInvalidError('snapshot file is not a JSON object');
  }
  const runtime = 'runtime' in document ? document.runtime : document;
  return loadSnapshot(decodeRuntimeSnapshot(runtime), catalog, previous);
}
