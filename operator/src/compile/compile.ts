// The compile entry point: source objects in, snapshot (runtime + Envoy resources), diagnostics and
// per-object status out. Pure and deterministic: no I/O, no clock, and the same objects in any order
// give the same bytes and the same version. Bad objects are reported and left out; the rest compiles.
import type { RuntimeSnapshot } from '../../../protos/gen/json/gatehouse.v1.ts';
import {
  DEFAULT_CALLOUT_TIMEOUT_MS,
  type ServiceCalloutConfig,
} from '../../../protos/policies/extension/service-callout.ts';
import { attachments } from './attach.ts';
import { jsonSha256Hex } from './canonical-json.ts';
import { credentialHasher, devCredentialHashKey } from './credentials.ts';
import { sortDiagnostics, type Diagnostic } from './diagnostics.ts';
import {
  emitDataPlaneEnvoy,
  unionOf,
  type EnvoyResources,
  type ExtProcLink,
  type SdsSecretRef,
} from './envoy/index.ts';
import type { Incumbents } from './incumbents.ts';
import { takeIn, type SourceObject } from './intake.ts';
import type { Ir, IrApp, IrDataPlane, IrDeveloper, IrEndpoint, IrExtProcTls, IrProxy, IrSharedFlow } from './ir.ts';
import { resolveApps, resolveProducts } from './resolve-consumers.ts';
import { resolveDevelopers } from './resolve-developers.ts';
import { resolveKeyValueMaps } from './resolve-keyvaluemaps.ts';
import { defaultDataPlane, resolveDataPlanes } from './resolve-dataplanes.ts';
import { resolvePolicies } from './resolve-policies.ts';
import { resolveProxies } from './resolve-proxies.ts';
import { checkFlowHooks, resolveSharedFlows, sharedFlowClosure } from './resolve-shared-flows.ts';
import { debugSessionOutcomes, resolveDebugSessions, type DebugSessionOutcome } from './resolve-debug-sessions.ts';
import { emitRuntime } from './runtime.ts';
import { objectStatuses, type ObjectStatus } from './status.ts';

export type { SourceObject } from './intake.ts';
export type { DebugSessionOutcome } from './resolve-debug-sessions.ts';
export type { ExtProcLink, SdsSecretRef } from './envoy/index.ts';

export interface CompileOptions {
  /** HMAC key for consumer keys and secrets. Default: a fixed development key, with a warning. */
  credentialHashKey?: string;
  /** Where Envoy reaches extproc (default 127.0.0.1:9002), for every DataPlane unless extProcFor says otherwise. */
  extProc?: IrEndpoint;
  /** Mutual TLS from Envoy to extproc, from files in the Envoy pod (default plain text). */
  extProcTls?: IrExtProcTls;
  /** Where (and how) each DataPlane's Envoys reach its own extproc (kube mode: its extproc Service). */
  extProcFor?: (dataPlane: { namespace: string; name: string }) => ExtProcLink;
  /** Ready endpoints of Services, keyed "namespace/name:port" (from the kube source's EndpointSlices). */
  serviceEndpoints?: Readonly<Record<string, IrEndpoint[]>>;
  /** What the snapshot being served holds: it keeps contested routes and consumer keys (incumbents.ts). */
  incumbents?: Incumbents;
  /**
   * Unix milliseconds: which DebugSessions are still within their timeout. Without it no session is
   * active (compile stays a function of its inputs; the operator passes the clock and recompiles at
   * the next expiry).
   */
  now?: number;
}

/**
 * What the nodes of one DataPlane are served (docs/architecture.md#the-operator): its runtime (only
 * the proxies its listeners admit, the products and apps of those, its own DataPlane) and the names
 * of its part of the snapshot's Envoy resources and SDS secrets.
 */
export interface DataPlaneSnapshot {
  /** "namespace/name" of the DataPlane. */
  dataPlane: string;
  /**
   * Without its version: a view is served at the snapshot's version (the encoder stamps it), so a node
   * that holds its view is synced to that version and every status (DataPlane configVersion, node
   * syncedVersion, ApiProxy revisions) speaks of one version whichever DataPlane it is about. A view
   * whose resources did not change is not sent again (xds/).
   */
  runtime: RuntimeSnapshot;
  /** Names of its resources in the snapshot's envoy collections, sorted. */
  names: { listeners: string[]; routes: string[]; clusters: string[]; endpoints: string[]; secrets: string[] };
}

export interface Snapshot {
  /** Content hash of the whole compiled state (every DataPlane's part). */
  version: string;
  /** gatehouse.v1.RuntimeSnapshot, proto3 JSON mapping: the whole fleet's (status, tenancy, tooling). */
  runtime: RuntimeSnapshot;
  /** Every DataPlane's Envoy resources, each name once. */
  envoy: EnvoyResources;
  /** One per DataPlane, sorted by namespace/name: what its nodes are served. */
  dataPlanes: DataPlaneSnapshot[];
  /**
   * Every SDS secret the listeners and clusters ask the ADS server for, sorted by name: the SDS name
   * and the Secret it comes from, recorded while emitting. Names only, no material; not part of the
   * version (the Envoy resources already carry the names).
   */
  secretRefs: SdsSecretRef[];
}

export interface CompileResult {
  snapshot: Snapshot;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /**
   * Every ApiProxy, ApiPolicy, ApiProduct, DeveloperApp and DataPlane seen, with its Accepted / ResolvedRefs
   * conditions.
   */
  accepted: ObjectStatus[];
  /** Every DebugSession seen: its conditions, phase and times (the debug session controller writes them). */
  debugSessions: DebugSessionOutcome[];
}

export const defaultExtProc: IrEndpoint = { host: '127.0.0.1', port: 9002 };

function warnMissingEndpoints(ir: Ir, report: (d: Diagnostic) => void): void {
  for (const p of ir.proxies) {
    for (const s of p.cluster.services) {
      if ((ir.serviceEndpoints.get(`${s.namespace}/${s.name}:${s.port}`) ?? []).length > 0) continue;
      report({
        severity: 'warning',
        code: 'GH_WARN_COMPILE_NO_ENDPOINTS',
        kind: 'ApiProxy',
        namespace: p.namespace,
        name: p.name,
        field: 'spec.target',
        message: `no ready endpoints known for Service ${s.name} port ${s.port}`,
      });
    }
  }
}

/**
 * FailOpen (Envoy's failure_mode_allow) sends a request on unchecked whenever extproc errs, times out
 * or refuses its stream: for proxies with security steps that is a bypass (docs/failure-modes.md).
 */
function warnFailOpen(ir: Ir, report: (d: Diagnostic) => void): void {
  for (const dp of ir.dataPlanes) {
    if (dp.failureMode !== 'FailOpen') continue;
    const served = new Set([...attachments(dp, ir.proxies).values()].flatMap((list) => list.map((a) => a.proxy)));
    const secured = ir.proxies
      .filter((p) => served.has(p) && p.policies.some((policy) => policy.enabled && policy.spec.group === 'security'))
      .map((p) => `${p.namespace}/${p.name}`);
    if (secured.length === 0) continue;
    const named =
      secured.length > 10 ? `${secured.slice(0, 10).join(', ')} and ${secured.length - 10} more` : secured.join(', ');
    report({
      severity: 'warning',
      code: 'GH_WARN_FAILOPEN_SECURITY',
      kind: 'DataPlane',
      namespace: dp.namespace,
      name: dp.name,
      field: 'spec.failureMode',
      message:
        `FailOpen sends requests to the upstream unchecked when extproc fails, times out or is overloaded, ` +
        `skipping the security steps of ${named}; use FailClosed`,
    });
  }
}

/**
 * A callout step the flow waits for (ServiceCallout with a response, ExternalCallout, JavaCallout) holds Envoy's
 * ext_proc message: with a timeout at or above the DataPlane's messageTimeout, Envoy answers 504 (or
 * skips the phase under FailOpen) before the callout's own fault (docs/policies.md#servicecallout,
 * docs/policies.md#externalcallout).
 */
function calloutTimeout(policy: Ir['proxies'][number]['policies'][number]): { ms: number; field: string } | undefined {
  if (policy.type === 'ServiceCallout') {
    const config = policy.config as ServiceCalloutConfig;
    if (config.response === undefined) return undefined; // fire and forget: nothing waits
    return { ms: config.timeout ?? DEFAULT_CALLOUT_TIMEOUT_MS, field: 'spec.serviceCallout.timeout' };
  }
  if (policy.type === 'ExternalCallout')
    return { ms: (policy.config as { timeoutMs: number }).timeoutMs, field: 'spec.externalCallout.timeoutMs' };
  if (policy.type === 'JavaCallout')
    return { ms: (policy.config as { timeoutMs?: number }).timeoutMs ?? 1000, field: 'spec.javaCallout.timeoutMs' };
  return undefined;
}

function warnCalloutTimeouts(ir: Ir, report: (d: Diagnostic) => void): void {
  const warned = new Set<string>();
  for (const dp of ir.dataPlanes) {
    const served = new Set([...attachments(dp, ir.proxies).values()].flatMap((list) => list.map((a) => a.proxy)));
    for (const proxy of ir.proxies) {
      if (!served.has(proxy)) continue;
      for (const policy of proxy.policies) {
        if (!policy.enabled) continue;
        const timeout = calloutTimeout(policy);
        if (timeout === undefined) continue;
        const key = `${dp.namespace}/${dp.name}/${proxy.namespace}/${policy.name}`;
        if (timeout.ms < dp.messageTimeoutMs || warned.has(key)) continue;
        warned.add(key);
        report({
          severity: 'warning',
          code: 'GH_WARN_CALLOUT_TIMEOUT',
          kind: 'ApiPolicy',
          namespace: proxy.namespace,
          name: policy.name,
          field: timeout.field,
          message:
            `waits up to ${timeout.ms} ms for the callout, but DataPlane ${dp.namespace}/${dp.name} gives extproc ` +
            `${dp.messageTimeoutMs} ms (spec.messageTimeout): Envoy answers 504 first; lower the timeout or raise messageTimeout`,
        });
      }
    }
  }
}

/**
 * A JavaCallout runs in the Java callout host, the sidecar spec.javaCallouts adds to a DataPlane's
 * extproc pods: served by a DataPlane without it, every request reaching the step fails with
 * steps.javacallout.ExecutionError (docs/policies.md#javacallout). Counted: the enabled JavaCallouts
 * of the proxies it admits, of the SharedFlows those call and of its own flow hooks (and what they call).
 */
function warnJavaCalloutHost(ir: Ir, report: (d: Diagnostic) => void): void {
  const flows = new Map((ir.sharedFlows ?? []).map((f) => [`${f.namespace}/${f.name}`, f]));
  const warned = new Set<string>();
  for (const dp of ir.dataPlanes) {
    if (dp.javaCalloutHost !== false) continue;
    const served = [...new Set([...attachments(dp, ir.proxies).values()].flatMap((list) => list.map((a) => a.proxy)))];
    const hooks = dp.flowHooks ?? {};
    const called = sharedFlowClosure(
      [
        ...served.flatMap((p) => p.calls ?? []),
        ...[hooks.preProxy, hooks.preTarget, hooks.postTarget, hooks.postProxy].filter((h) => h !== undefined),
      ],
      flows,
    );
    const owners = [...served, ...called];
    for (const owner of owners) {
      for (const policy of owner.policies) {
        if (policy.type !== 'JavaCallout' || !policy.enabled) continue;
        const key = `${dp.namespace}/${dp.name}/${owner.namespace}/${policy.name}`;
        if (warned.has(key)) continue;
        warned.add(key);
        report({
          severity: 'warning',
          code: 'GH_WARN_JAVA_CALLOUT_HOST',
          kind: 'ApiPolicy',
          namespace: owner.namespace,
          name: policy.name,
          field: 'spec.javaCallout',
          message:
            `DataPlane ${dp.namespace}/${dp.name} serves this JavaCallout but runs no Java callout host ` +
            `(spec.javaCallouts unset): every request reaching it fails with steps.javacallout.ExecutionError`,
        });
      }
    }
  }
}

/**
 * A DataPlane's hooks run on every proxy it serves, so their body needs are those proxies' (one route
 * entry serves a proxy on every DataPlane's listener: the union over the DataPlanes that admit it).
 * A DataPlane with analytics has extproc see every response's headers too: the record's status.
 */
function withHookProcessing(
  proxies: IrProxy[],
  dataPlanes: readonly IrDataPlane[],
  flows: ReadonlyMap<string, IrSharedFlow>,
): IrProxy[] {
  const hooked = dataPlanes.filter((dp) => dp.flowHooks || dp.analytics);
  if (hooked.length === 0) return proxies;
  const needs = new Map<IrProxy, { request: boolean; response: boolean; responseHooks: boolean }>();
  for (const dp of hooked) {
    const { preProxy, preTarget, postTarget, postProxy } = dp.flowHooks ?? {};
    const request = [preProxy, preTarget].some((h) => h !== undefined && flows.get(h)?.needsBody.request);
    const response = [postTarget, postProxy].some((h) => h !== undefined && flows.get(h)?.needsBody.response);
    const responseHooks = postTarget !== undefined || postProxy !== undefined || dp.analytics !== undefined;
    for (const list of attachments(dp, proxies).values())
      for (const { proxy } of list) {
        const n = needs.get(proxy) ?? { request: false, response: false, responseHooks: false };
        needs.set(proxy, {
          request: n.request || request,
          response: n.response || response,
          responseHooks: n.responseHooks || responseHooks,
        });
      }
  }
  return proxies.map((p) => {
    const n = needs.get(p);
    if (!n) return p;
    return {
      ...p,
      processing: {
        requestBody: p.processing.requestBody || n.request,
        responseHeaders: p.processing.responseHeaders || n.responseHooks,
        responseBody: p.processing.responseBody || n.response,
      },
    };
  });
}

/** The Developers that the apps name: a data plane gets no developer it has no app of. */
function developersOf(apps: readonly IrApp[], developers: readonly IrDeveloper[]): IrDeveloper[] {
  const named = new Set(apps.filter((a) => a.developerRef !== '').map((a) => `${a.namespace}/${a.developerRef}`));
  return developers.filter((d) => named.has(`${d.namespace}/${d.name}`));
}

const names = <T>(items: readonly T[], name: (item: T) => string | undefined) => items.map((i) => name(i) ?? '').sort();

/** One DataPlane's view: the runtime of what it serves, and the names of its resources. */
function viewOf(
  ir: Ir,
  dp: IrDataPlane,
  proxies: readonly IrProxy[],
  envoy: EnvoyResources,
  secretRefs: readonly SdsSecretRef[],
): DataPlaneSnapshot {
  const served = new Set(proxies.map((p) => `${p.namespace}/${p.name}`));
  const products = ir.products.filter((p) => p.proxies.some((name) => served.has(`${p.namespace}/${name}`)));
  const offered = new Set(products.map((p) => `${p.namespace}/${p.name}`));
  const apps = ir.apps.filter((a) => a.products.some((p) => offered.has(`${a.namespace}/${p.name}`)));
  // A namespace's maps reach only DataPlanes serving a proxy of it (tenancy); an environment map only
  // its region's, an apiproxy map only that proxy's.
  const namespaces = new Set(proxies.map((p) => p.namespace));
  const keyValueMaps = (ir.keyValueMaps ?? []).filter(
    (m) =>
      namespaces.has(m.namespace) &&
      (m.scope !== 'environment' || m.environment === dp.region) &&
      (m.scope !== 'apiproxy' || served.has(`${m.namespace}/${m.proxy}`)),
  );
  const developers = developersOf(apps, ir.developers);
  // Only the debug sessions of the proxies it serves (their captures come from its extproc).
  const debugSessions = (ir.debugSessions ?? []).filter((s) => served.has(`${s.namespace}/${s.proxy}`));
  // Only the SharedFlows its proxies call and its own hooks (and what those call): another DataPlane's
  // hooks, or a namespace it serves no proxy of, stay out of its view.
  const flows = new Map((ir.sharedFlows ?? []).map((f) => [`${f.namespace}/${f.name}`, f]));
  const hooks = dp.flowHooks ?? {};
  const sharedFlows = sharedFlowClosure(
    [
      ...proxies.flatMap((p) => p.calls ?? []),
      ...[hooks.preProxy, hooks.preTarget, hooks.postTarget, hooks.postProxy].filter((h) => h !== undefined),
    ],
    flows,
  );
  const runtime = emitRuntime({
    ...ir,
    proxies: [...proxies],
    products,
    developers,
    apps,
    dataPlanes: [dp],
    keyValueMaps,
    sharedFlows,
    debugSessions,
  });
  const view = {
    listeners: names(envoy.listeners, (l) => l.name),
    routes: names(envoy.routes, (r) => r.name),
    clusters: names(envoy.clusters, (c) => c.name),
    endpoints: names(envoy.endpoints, (e) => e.cluster_name),
    secrets: secretRefs.map((s) => s.name).sort(),
  };
  return { dataPlane: `${dp.namespace}/${dp.name}`, runtime, names: view };
}

export function compile(objects: readonly SourceObject[], options: CompileOptions = {}): CompileResult {
  const diagnostics: Diagnostic[] = [];
  const report = (d: Diagnostic) => {
    diagnostics.push(d);
  };
  if (options.credentialHashKey === undefined) {
    report({
      severity: 'warning',
      code: 'GH_WARN_DEV_CREDENTIAL_KEY',
      message: 'no credential hash key configured: using the fixed development key (never in production)',
    });
  }
  const hasher = credentialHasher(options.credentialHashKey ?? devCredentialHashKey);

  const inventory = takeIn(objects, report);
  const anyDataPlane = [...inventory.seen.values()].some((o) => o.id.kind === 'DataPlane');
  const dataPlanes = anyDataPlane ? resolveDataPlanes(inventory, report) : [defaultDataPlane];
  // Every DataPlane serves every proxy (one route table), so each of them must allow such targets.
  const allowLinkLocalTargets = dataPlanes.length > 0 && dataPlanes.every((d) => d.allowLinkLocalTargets);
  const policies = resolvePolicies(inventory, report);
  const sharedFlows = resolveSharedFlows(inventory, policies, report);
  checkFlowHooks(inventory, dataPlanes, sharedFlows, report);
  const proxies = withHookProcessing(
    resolveProxies(inventory, policies, report, { allowLinkLocalTargets }, dataPlanes, options.incumbents, sharedFlows),
    dataPlanes,
    sharedFlows,
  );
  const products = resolveProducts(inventory, proxies, report);
  const developers = resolveDevelopers(inventory, report);
  const apps = resolveApps(inventory, products, hasher.hash, report, options.incumbents, developers);
  const keyValueMaps = resolveKeyValueMaps(inventory, report);
  const debug = resolveDebugSessions(inventory, proxies, options.now, report, diagnostics);
  const ir: Ir = {
    proxies,
    products,
    developers: developersOf(apps, developers),
    apps,
    dataPlanes,
    keyValueMaps,
    sharedFlows: [...sharedFlows.values()],
    debugSessions: debug.sessions,
    serviceEndpoints: new Map(
      Object.entries(options.serviceEndpoints ?? {}).map(([k, list]) => [
        k,
        [...list].sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port),
      ]),
    ),
    credentialHashKeyHex: hasher.keyHex,
  };
  warnMissingEndpoints(ir, report);
  warnFailOpen(ir, report);
  warnCalloutTimeouts(ir, report);
  warnJavaCalloutHost(ir, report);

  const runtime = emitRuntime(ir);
  const link = (dp: IrDataPlane): ExtProcLink =>
    options.extProcFor?.(dp) ?? {
      endpoint: options.extProc ?? defaultExtProc,
      ...(options.extProcTls ? { tls: options.extProcTls } : {}),
    };
  const parts = ir.dataPlanes.map((dp) => ({ dp, envoy: emitDataPlaneEnvoy(ir, dp, link(dp)) }));
  const { resources: envoy, secretRefs } = unionOf(parts.map((p) => p.envoy));
  // Key order is fixed by the emitters and free-form maps are sorted in the IR, so plain JSON is
  // already canonical here (the shuffle property test holds it to that) and 6x faster to produce.
  // Hashed piece by piece: the same bytes as JSON.stringify({ runtime, envoy }), never one string.
  const version = jsonSha256Hex({ runtime, envoy });
  const dataPlaneSnapshots = parts.map(({ dp, envoy: own }) =>
    viewOf(ir, dp, own.proxies, own.resources, own.secretRefs),
  );
  const held = new Map<string, string[]>();
  for (const view of dataPlaneSnapshots)
    for (const s of view.runtime.debugSessions ?? [])
      held.set(`${s.namespace}/${s.name}`, [...(held.get(`${s.namespace}/${s.name}`) ?? []), view.dataPlane]);
  const sorted = sortDiagnostics(diagnostics);
  const errors = sorted.filter((d) => d.severity === 'error');
  return {
    snapshot: { version, runtime: { version, ...runtime }, envoy, dataPlanes: dataPlaneSnapshots, secretRefs },
    errors,
    warnings: sorted.filter((d) => d.severity === 'warning'),
    accepted: objectStatuses(inventory, errors),
    debugSessions: debugSessionOutcomes(debug.outcomes, held),
  };
}
