// ApiProxies: resolve every step to an accepted ApiPolicy of the namespace, parse every condition once,
// build the upstream cluster, pick the processing mode the steps need, and settle base-path conflicts
// (docs/tenancy.md).
import type { Condition } from '../../../protos/gen/json/gatehouse.v1.ts';
import type { ApiProxy } from '../api/kinds.ts';
import type { Step } from '../api/apiproxy.ts';
import { ConditionSyntaxError, parseCondition } from './conditions.ts';
import { durationMs } from './durations.ts';
import { holderName, hostsOverlap, keeperOrder, noIncumbents, type Incumbents } from './incumbents.ts';
import { idKey, type Entry, type Inventory } from './intake.ts';
import { admits, keepAttachable } from './attach.ts';
import type { IrDataPlane, IrFlowPair, IrFlows, IrPolicy, IrProcessing, IrProxy, IrSharedFlow, IrStep } from './ir.ts';
import { flowCalloutTarget, reportMissingSharedFlow } from './resolve-shared-flows.ts';
import { reportMissingRef, reporterFor, sortedValues, type ObjectReporter, type Report } from './report.ts';
import { resolveUpstream, type UpstreamOptions } from './upstream.ts';

class ProxyResolver {
  readonly used = new Map<string, IrPolicy>();
  readonly r: ObjectReporter;
  readonly entry: Entry<ApiProxy>;
  readonly inventory: Inventory;
  readonly policies: ReadonlyMap<string, IrPolicy>;
  readonly upstream: UpstreamOptions;
  /** Accepted SharedFlows; undefined: not known here (the admission webhook checks one object alone). */
  readonly sharedFlows: ReadonlyMap<string, IrSharedFlow> | undefined;
  /** The SharedFlows its FlowCallout steps call. */
  readonly calls = new Set<string>();
  private readonly missingFlows = new Set<string>();

  constructor(
    entry: Entry<ApiProxy>,
    inventory: Inventory,
    policies: ReadonlyMap<string, IrPolicy>,
    report: Report,
    upstream: UpstreamOptions,
    sharedFlows: ReadonlyMap<string, IrSharedFlow> | undefined,
  ) {
    this.entry = entry;
    this.inventory = inventory;
    this.policies = policies;
    this.upstream = upstream;
    this.sharedFlows = sharedFlows;
    this.r = reporterFor(entry, report);
  }

  condition(source: string | undefined, field: string): Condition | undefined {
    if (source === undefined) return undefined;
    try {
      return parseCondition(source);
    } catch (err) {
      if (!(err instanceof ConditionSyntaxError)) throw err;
      this.r.invalid(field, `condition does not parse: ${err.message}`, 'InvalidCondition', err.code);
      return undefined;
    }
  }

  steps(steps: Step[] | undefined, field: string): IrStep[] {
    return (steps ?? []).map((step, i) => {
      const at = `${field}[${i}]`;
      const ns = this.entry.id.namespace;
      const policy = this.policies.get(`${ns}/${step.policy}`);
      if (policy) {
        this.used.set(policy.name, policy);
        this.flowCallout(policy, `${at}.policy`);
      } else reportMissingRef(this.r, this.inventory, `${at}.policy`, 'ApiPolicy', ns, step.policy);
      const condition = this.condition(step.condition, `${at}.condition`);
      return { policy: step.policy, ...(condition ? { condition } : {}) };
    });
  }

  /** A FlowCallout step: its SharedFlow must be an accepted one of the namespace. */
  flowCallout(policy: IrPolicy, field: string): void {
    const target = flowCalloutTarget(policy, this.entry.id.namespace);
    if (target === undefined || !policy.enabled || this.sharedFlows === undefined) return;
    if (this.sharedFlows.has(target)) this.calls.add(target);
    else if (!this.missingFlows.has(target)) {
      this.missingFlows.add(target);
      reportMissingSharedFlow(this.r, this.inventory, field, policy.name, target);
    }
  }

  pair(pair: { request?: Step[]; response?: Step[] } | undefined, field: string): IrFlowPair {
    return {
      request: this.steps(pair?.request, `${field}.request`),
      response: this.steps(pair?.response, `${field}.response`),
    };
  }

  flows(): IrFlows {
    const flows = this.entry.object.spec.flows ?? {};
    return {
      preFlow: this.pair(flows.preFlow, 'spec.flows.preFlow'),
      conditionalFlows: (flows.conditionalFlows ?? []).map((f, i) => {
        const field = `spec.flows.conditionalFlows[${i}]`;
        const condition = this.condition(f.condition, `${field}.condition`);
        return { name: f.name, ...(condition ? { condition } : {}), ...this.pair(f, field) };
      }),
      postFlow: this.pair(flows.postFlow, 'spec.flows.postFlow'),
      postClientFlow: {
        request: [],
        response: this.steps(flows.postClientFlow?.response, 'spec.flows.postClientFlow.response'),
      },
    };
  }

  secretExists(field: string, ref: { name: string } | undefined): void {
    if (ref && !this.inventory.secrets.has(`${this.entry.id.namespace}/${ref.name}`)) {
      reportMissingRef(this.r, this.inventory, field, 'Secret', this.entry.id.namespace, ref.name);
    }
  }

  resolve(): IrProxy | undefined {
    const { spec, metadata } = this.entry.object;
    const flows = this.flows();
    const faultRules = (spec.faultRules ?? []).map((rule, i) => {
      const condition = this.condition(rule.condition, `spec.faultRules[${i}].condition`);
      return {
        name: rule.name,
        ...(condition ? { condition } : {}),
        steps: this.steps(rule.steps, `spec.faultRules[${i}].steps`),
      };
    });
    const defaultFaultRule = spec.defaultFaultRule && {
      steps: this.steps(spec.defaultFaultRule.steps, 'spec.defaultFaultRule.steps'),
      alwaysEnforce: spec.defaultFaultRule.alwaysEnforce ?? false,
    };
    this.secretExists('spec.target.tls.caSecretRef.name', spec.target.tls?.caSecretRef);
    this.secretExists('spec.target.tls.clientCertSecretRef.name', spec.target.tls?.clientCertSecretRef);
    const upstream = resolveUpstream(this.entry.object, this.r, this.upstream);
    if (this.r.failed || !upstream) return undefined;
    const policies = [...this.used.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    const calls = [...this.calls].sort();
    return {
      namespace: metadata.namespace!,
      name: metadata.name,
      generation: metadata.generation ?? 0,
      basePath: spec.basePath,
      hosts: [...(spec.hosts ?? [])].sort(),
      stripBasePath: spec.stripBasePath ?? true,
      timeoutMs: durationMs(spec.target.timeout ?? '30s'),
      targetUrl: upstream.targetUrl,
      targetPathPrefix: upstream.pathPrefix,
      cluster: upstream.cluster,
      flows,
      faultRules,
      ...(defaultFaultRule ? { defaultFaultRule } : {}),
      policies,
      processing: processingFor(
        flows,
        new Map(policies.map((p) => [p.name, p])),
        (name) => this.sharedFlows?.get(`${metadata.namespace!}/${name}`)?.needsBody,
      ),
      ...(calls.length > 0 ? { calls } : {}),
    };
  }
}

/** docs/architecture.md#the-envoy-and-extproc-contract: buffer a body only when a step in that phase needs it; response headers only with response steps. */
function processingFor(
  flows: IrFlows,
  policies: ReadonlyMap<string, IrPolicy>,
  sharedFlowNeeds: (name: string) => IrSharedFlow['needsBody'] | undefined,
): IrProcessing {
  const pairs = [flows.preFlow, ...flows.conditionalFlows, flows.postFlow, flows.postClientFlow];
  // A FlowCallout step needs what its SharedFlow (and the flows that one calls) needs.
  const needsBody = (steps: IrStep[], phase: 'request' | 'response') =>
    steps.some((s) => {
      const p = policies.get(s.policy);
      if (p === undefined || !p.enabled) return false;
      const called =
        p.type === 'FlowCallout'
          ? sharedFlowNeeds((p.config as { sharedFlowBundle: string }).sharedFlowBundle)
          : undefined;
      return p.spec.needsBody(p.config, phase) || (called?.[phase] ?? false);
    });
  return {
    requestBody: pairs.some((p) => needsBody(p.request, 'request')),
    responseHeaders: pairs.some((p) => p.response.length > 0),
    responseBody: pairs.some((p) => needsBody(p.response, 'response')),
  };
}

interface Resolved {
  proxy: IrProxy;
  r: ObjectReporter;
  key: string;
  namespace: string;
  name: string;
  creationTimestamp?: string;
  statusAccepted: boolean;
}

/**
 * A host on which `a` and `b` could both be asked for one request: some listener serves both, on
 * hosts that overlap there. Proxies on listeners that never serve both (other DataPlanes, other
 * namespaces, other hostnames) do not compete.
 */
function sharedHost(a: IrProxy, b: IrProxy, dataPlanes: readonly IrDataPlane[]): string | undefined {
  for (const dp of dataPlanes)
    for (const l of dp.listeners) {
      const ha = admits(dp, l, a);
      const hb = ha && admits(dp, l, b);
      const host = hb && (ha.length === 0 && hb.length === 0 ? '*' : hostsOverlap(ha, hb));
      if (host) return host;
    }
  return undefined;
}

/**
 * Two proxies may not serve the same base path on hosts that can match one request on one listener:
 * an any-host proxy and a host-specific one on the same base path would split its traffic by the
 * Host header. The keeper is the proxy serving that base path now (its status says so, or it serves
 * in the snapshot being served), else the oldest, else the first by namespace/name
 * (incumbents.ts); every other claimant is not accepted, and is told who holds the route only when
 * that proxy is in its own namespace.
 */
function settleConflicts(
  resolved: Resolved[],
  inventory: Inventory,
  incumbents: Incumbents,
  dataPlanes: readonly IrDataPlane[],
): IrProxy[] {
  const holds = (c: Resolved) =>
    c.statusAccepted || incumbents.proxies.get(`${c.namespace}/${c.name}`) === c.proxy.basePath;
  const ordered = [...resolved].sort(keeperOrder(holds, (c) => c));
  const kept: IrProxy[] = [];
  for (const { proxy, r, key } of ordered) {
    let host: string | undefined;
    const rival = kept.find(
      (k) => k.basePath === proxy.basePath && (host = sharedHost(k, proxy, dataPlanes)) !== undefined,
    );
    if (rival) {
      r.invalid(
        'spec.basePath',
        `base path ${proxy.basePath} on host ${host} is already served by ${holderName('ApiProxy', `${rival.namespace}/${rival.name}`, proxy.namespace)}`,
        'Conflicted',
        'GH_ERR_COMPILE_CONFLICT',
      );
      inventory.rejected.add(key);
      continue;
    }
    kept.push(proxy);
  }
  return kept.sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
}

export function resolveProxies(
  inventory: Inventory,
  policies: ReadonlyMap<string, IrPolicy>,
  report: Report,
  upstream: UpstreamOptions,
  dataPlanes: readonly IrDataPlane[],
  incumbents: Incumbents = noIncumbents,
  sharedFlows?: ReadonlyMap<string, IrSharedFlow>,
): IrProxy[] {
  const resolved: Resolved[] = [];
  for (const entry of sortedValues(inventory.proxies)) {
    const resolver = new ProxyResolver(entry, inventory, policies, report, upstream, sharedFlows);
    const proxy = resolver.resolve();
    if (proxy)
      resolved.push({
        proxy,
        r: resolver.r,
        key: idKey(entry.id),
        namespace: entry.id.namespace,
        name: entry.id.name,
        creationTimestamp: entry.object.metadata.creationTimestamp,
        statusAccepted: entry.statusAccepted === true,
      });
    else inventory.rejected.add(idKey(entry.id));
  }
  // A proxy no listener admits holds no route (docs/tenancy.md#listeners).
  const attachable = new Set(keepAttachable(resolved, dataPlanes, inventory));
  return settleConflicts(
    resolved.filter((c) => attachable.has(c)),
    inventory,
    incumbents,
    dataPlanes,
  );
}
