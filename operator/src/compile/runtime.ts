// IR -> RuntimeSnapshot in the proto3 JSON mapping (lowerCamelCase, int64 as strings): what extproc
// enforces. ApiPolicy configs are stored as canonical JSON.
import { canonicalJson } from './canonical-json.ts';
import { sortedRecord } from './intake.ts';
import type { Ir, IrApp, IrDataPlane, IrFlowPair, IrProduct, IrProxy, IrStep } from './ir.ts';

export type Json = Record<string, unknown>;

const steps = (list: IrStep[]) =>
  list.map((s) => ({ policy: s.policy, ...(s.condition ? { condition: s.condition } : {}) }));
const pair = (p: IrFlowPair) => ({ request: steps(p.request), response: steps(p.response) });

function proxy(p: IrProxy): Json {
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
      conditionalFlows: p.flows.conditionalFlows.map((f) => ({
        name: f.name,
        ...(f.condition ? { condition: f.condition } : {}),
        ...pair(f),
      })),
      postFlow: pair(p.flows.postFlow),
      postClientFlow: pair(p.flows.postClientFlow),
    },
    faultRules: p.faultRules.map((r) => ({
      name: r.name,
      ...(r.condition ? { condition: r.condition } : {}),
      steps: steps(r.steps),
    })),
    ...(p.defaultFaultRule
      ? {
          defaultFaultRule: { steps: steps(p.defaultFaultRule.steps), alwaysEnforce: p.defaultFaultRule.alwaysEnforce },
        }
      : {}),
    policies: Object.fromEntries(
      p.policies.map((pol) => [
        pol.name,
        {
          name: pol.name,
          type: pol.type,
          continueOnError: pol.continueOnError,
          enabled: pol.enabled,
          configJson: canonicalJson(pol.config),
        },
      ]),
    ),
    generation: String(p.generation),
  };
}

function product(p: IrProduct): Json {
  return {
    namespace: p.namespace,
    name: p.name,
    displayName: p.displayName,
    proxies: p.proxies,
    resources: p.resources,
    methods: p.methods,
    ...(p.quota
      ? { quota: { limit: String(p.quota.limit), interval: String(p.quota.interval), timeUnit: p.quota.timeUnit } }
      : {}),
    scopes: p.scopes,
    approval: p.approval,
    attributes: p.attributes,
  };
}

function app(a: IrApp): Json {
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
  };
}

function dataPlane(d: IrDataPlane): Json {
  return {
    namespace: d.namespace,
    name: d.name,
    region: d.region,
    failureMode: d.failureMode,
    messageTimeoutMs: String(d.messageTimeoutMs),
    ...(d.redis ? { redis: d.redis } : {}),
  };
}

/** The Secret values the proxies' policies name, sorted by id; shared policies give the same entries. */
function policySecrets(ir: Ir): Record<string, string> {
  const all: Record<string, string> = {};
  for (const p of ir.proxies) for (const pol of p.policies) Object.assign(all, pol.secrets);
  return sortedRecord(all);
}

/** The snapshot without its version (the version is a hash over this and the Envoy resources). */
export function emitRuntime(ir: Ir): Json {
  const secrets = policySecrets(ir);
  return {
    proxies: ir.proxies.map(proxy),
    products: ir.products.map(product),
    apps: ir.apps.map(app),
    dataPlanes: ir.dataPlanes.map(dataPlane),
    credentialHashKey: ir.credentialHashKeyHex,
    ...(Object.keys(secrets).length > 0 ? { policySecrets: secrets } : {}),
  };
}
