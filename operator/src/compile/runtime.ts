// IR -> RuntimeSnapshot in the proto3 JSON mapping (lowerCamelCase, int64 as strings): what extproc
// enforces. ApiPolicy configs are stored as canonical JSON.
import { canonicalJson } from './canonical-json.ts';
import type {
  Analytics,
  App,
  ConditionalFlow,
  DataPlane,
  DebugSession,
  Developer,
  FaultRule,
  FlowPair,
  KeyValueMap,
  Product,
  Proxy,
  RuntimeSnapshot,
  SharedFlow,
  Step,
} from '../../../protos/gen/json/gatehouse.v1.ts';
import { sortedRecord } from './intake.ts';
import { maskOf } from './resolve-debug-sessions.ts';
import { debugSessionLimits } from '../api/debugsession.ts';
import type {
  Ir,
  IrAnalytics,
  IrApp,
  IrDataPlane,
  IrDebugSession,
  IrDeveloper,
  IrFlowPair,
  IrKeyValueMap,
  IrProduct,
  IrPolicy,
  IrProxy,
  IrSharedFlow,
  IrStep,
} from './ir.ts';

const steps = (list: IrStep[]) =>
  list.map((s): Step => ({ policy: s.policy, ...(s.condition ? ({ condition: s.condition } satisfies Step) : {}) }));
const pair = (p: IrFlowPair): FlowPair => ({ request: steps(p.request), response: steps(p.response) });

function proxy(p: IrProxy): Proxy {
  return {
    namespace: p.namespace,
    name: p.name,
    route: `${p.namespace}/${p.name}`,
    basePath: p.basePath,
    hosts: p.hosts,
    stripBasePath: p.stripBasePath,
    targetUrl: p.targetUrl,
    flows: {
      preFlow: pair(p.flows.preFlow),
      conditionalFlows: p.flows.conditionalFlows.map((f): ConditionalFlow => ({
        name: f.name,
        ...(f.condition ? ({ condition: f.condition } satisfies ConditionalFlow) : {}),
        ...pair(f),
      })),
      postFlow: pair(p.flows.postFlow),
      postClientFlow: pair(p.flows.postClientFlow),
    },
    faultRules: p.faultRules.map((r): FaultRule => ({
      name: r.name,
      ...(r.condition ? ({ condition: r.condition } satisfies FaultRule) : {}),
      steps: steps(r.steps),
    })),
    ...(p.defaultFaultRule
      ? ({
          defaultFaultRule: { steps: steps(p.defaultFaultRule.steps), alwaysEnforce: p.defaultFaultRule.alwaysEnforce },
        } satisfies Proxy)
      : {}),
    policies: policyMap(p.policies),
    generation: String(p.generation),
  };
}

const policyMap = (policies: IrPolicy[]): Proxy['policies'] =>
  Object.fromEntries(
    policies.map((pol) => [
      pol.name,
      {
        name: pol.name,
        type: pol.type,
        continueOnError: pol.continueOnError,
        enabled: pol.enabled,
        configJson: canonicalJson(pol.config),
      },
    ]),
  );

function sharedFlow(f: IrSharedFlow): SharedFlow {
  return {
    namespace: f.namespace,
    name: f.name,
    steps: steps(f.steps),
    policies: policyMap(f.policies),
    generation: String(f.generation),
  };
}

function product(p: IrProduct): Product {
  return {
    namespace: p.namespace,
    name: p.name,
    displayName: p.displayName,
    proxies: p.proxies,
    resources: p.resources,
    methods: p.methods,
    ...(p.quota
      ? ({
          quota: { limit: String(p.quota.limit), interval: String(p.quota.interval), timeUnit: p.quota.timeUnit },
        } satisfies Product)
      : {}),
    scopes: p.scopes,
    approval: p.approval,
    attributes: p.attributes,
  };
}

function app(a: IrApp): App {
  return {
    namespace: a.namespace,
    name: a.name,
    developerEmail: a.developerEmail,
    developerName: a.developerName,
    products: a.products,
    credentials: a.credentials.map((c) => ({
      keyHash: c.keyHash,
      secretHash: c.secretHash,
      status: c.status,
      expiresAt: String(c.expiresAtMs),
    })),
    status: a.status,
    attributes: a.attributes,
    callbackUrl: a.callbackUrl,
    ...(a.developerRef !== '' ? ({ developerRef: a.developerRef } satisfies App) : {}),
  };
}

function developer(d: IrDeveloper): Developer {
  return { ...d };
}

function dataPlane(d: IrDataPlane): DataPlane {
  return {
    namespace: d.namespace,
    name: d.name,
    region: d.region,
    failureMode: d.failureMode,
    messageTimeoutMs: String(d.messageTimeoutMs),
    ...(d.redis ? ({ redis: d.redis } satisfies DataPlane) : {}),
    ...(d.allowLinkLocalTargets ? { allowLinkLocalTargets: true } : {}),
    ...(d.calloutPrivateNetworks.length > 0 ? { calloutPrivateNetworks: [...d.calloutPrivateNetworks] } : {}),
    ...(d.flowHooks ? ({ flowHooks: { ...d.flowHooks } } satisfies DataPlane) : {}),
    ...(d.analytics ? ({ analytics: analytics(d.analytics) } satisfies DataPlane) : {}),
  };
}

function analytics(a: IrAnalytics): Analytics {
  return {
    queueSize: a.queueSize,
    flushIntervalMs: a.flushIntervalMs,
    batchSize: a.batchSize,
    ...(a.otlp ? { otlp: { ...a.otlp } } : {}),
    ...(a.file ? { file: { ...a.file } } : {}),
    ...(a.http ? { http: { url: a.http.url, headerSecrets: sortedRecord(a.http.headerSecrets) } } : {}),
  };
}

/**
 * The Secret values the proxies' policies and the KeyValueMaps name, sorted by id; shared policies
 * give the same entries.
 */
function policySecrets(ir: Ir): Record<string, string> {
  const all: Record<string, string> = {};
  for (const p of ir.proxies) for (const pol of p.policies) Object.assign(all, pol.secrets);
  for (const f of ir.sharedFlows ?? []) for (const pol of f.policies) Object.assign(all, pol.secrets);
  for (const m of ir.keyValueMaps ?? []) Object.assign(all, m.secrets);
  // The analytics sinks' TLS material and header values (a DataPlane's own Secrets).
  for (const d of ir.dataPlanes) Object.assign(all, d.analytics?.secrets);
  return sortedRecord(all);
}

function keyValueMap(m: IrKeyValueMap): KeyValueMap {
  return {
    namespace: m.namespace,
    name: m.name,
    mapName: m.mapName,
    scope: m.scope,
    ...(m.environment ? { environment: m.environment } : {}),
    ...(m.proxy ? { proxy: m.proxy } : {}),
    ...(m.policy ? { policy: m.policy } : {}),
    ...(m.encrypted ? { encrypted: true } : {}),
    entries: Object.fromEntries(Object.entries(m.entries).map(([k, values]) => [k, { values }])),
    secretEntries: m.secretEntries,
  };
}

/**
 * An active DebugSession; `dp`: the DataPlane whose view it is in. Its mask is the DataPlane's, the
 * traced ApiProxy's and the session's together (docs/operations.md#debug-sessions).
 */
function debugSession(s: IrDebugSession, dp: IrDataPlane | undefined): DebugSession {
  const mask = maskOf(dp?.debugMask, s.proxyMask, s.mask);
  return {
    id: s.id,
    namespace: s.namespace,
    name: s.name,
    proxy: s.proxy,
    ...(s.filter ? { filter: s.filter } : {}),
    count: s.count,
    expiresAtMs: String(s.expiresAtMs),
    ...(Object.keys(mask).length > 0 ? { mask } : {}),
    maxTransactionBytes: debugSessionLimits.maxTransactionBytes,
  };
}

/** The snapshot without its version (the version is a hash over this and the Envoy resources). */
export function emitRuntime(ir: Ir): RuntimeSnapshot {
  const secrets = policySecrets(ir);
  return {
    proxies: ir.proxies.map(proxy),
    products: ir.products.map(product),
    apps: ir.apps.map(app),
    dataPlanes: ir.dataPlanes.map(dataPlane),
    credentialHashKey: ir.credentialHashKeyHex,
    ...(Object.keys(secrets).length > 0 ? { policySecrets: secrets } : {}),
    ...(ir.developers.length > 0 ? { developers: ir.developers.map(developer) } : {}),
    ...(ir.keyValueMaps?.length ? { keyValueMaps: ir.keyValueMaps.map(keyValueMap) } : {}),
    ...(ir.sharedFlows?.length ? { sharedFlows: ir.sharedFlows.map(sharedFlow) } : {}),
    // A view has exactly one DataPlane, whose mask applies; the fleet's runtime carries the sessions' own.
    ...(ir.debugSessions?.length
      ? {
          debugSessions: ir.debugSessions.map((s) =>
            debugSession(s, ir.dataPlanes.length === 1 ? ir.dataPlanes[0] : undefined),
          ),
        }
      : {}),
  };
}
