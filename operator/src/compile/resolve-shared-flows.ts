// SharedFlows (docs/policies.md#flowcallout): each step resolved to an accepted ApiPolicy of the flow's
// namespace and its condition parsed; a FlowCallout step's SharedFlow must be an accepted one of the same
// namespace. Chains of FlowCallouts are bounded (maxFlowCalloutDepth) and cycles refused, naming every
// SharedFlow of the cycle. DataPlane flow hooks are checked here too, once the flows are known.
import type { Condition } from '../../../protos/gen/json/gatehouse.v1.ts';
import { maxFlowCalloutDepth, type FlowCalloutConfig } from '../../../protos/policies/extension/flow-callout.ts';
import { ConditionSyntaxError, parseCondition } from './conditions.ts';
import { idKey, type Entry, type Inventory } from './intake.ts';
import type { IrDataPlane, IrPolicy, IrSharedFlow, IrStep } from './ir.ts';
import { reportMissingRef, reporterFor, sortedValues, type ObjectReporter, type Report } from './report.ts';
import type { SharedFlow } from '../api/kinds.ts';

/** The "namespace/name" of the SharedFlow a FlowCallout policy calls; undefined for other types. */
export function flowCalloutTarget(policy: IrPolicy, namespace: string): string | undefined {
  if (policy.type !== 'FlowCallout') return undefined;
  return `${namespace}/${(policy.config as FlowCalloutConfig).sharedFlowBundle}`;
}

/** The message of a FlowCallout whose SharedFlow is missing or not accepted (ResolvedRefs=False). */
export function reportMissingSharedFlow(
  r: ObjectReporter,
  inventory: Inventory,
  field: string,
  policy: string,
  target: string,
): void {
  const [namespace, name] = target.split('/') as [string, string];
  const rejected = inventory.rejected.has(idKey({ kind: 'SharedFlow', namespace, name }));
  r.unresolved(
    field,
    `ApiPolicy "${policy}" (FlowCallout) spec.flowCallout.sharedFlowBundle: SharedFlow "${name}" ${
      rejected ? 'is not accepted' : `not found in namespace ${namespace}`
    }`,
    rejected ? 'RefNotAccepted' : 'RefNotFound',
  );
}

interface Candidate {
  entry: Entry<SharedFlow>;
  key: string;
  r: ObjectReporter;
  flow: IrSharedFlow;
  /** Callee name to the field of the first step calling it, for messages. */
  callSites: Map<string, { field: string; policy: string }>;
}

function parse(r: ObjectReporter, source: string | undefined, field: string): Condition | undefined {
  if (source === undefined) return undefined;
  try {
    return parseCondition(source);
  } catch (err) {
    if (!(err instanceof ConditionSyntaxError)) throw err;
    r.invalid(field, `condition does not parse: ${err.message}`, 'InvalidCondition', err.code);
    return undefined;
  }
}

function candidate(
  entry: Entry<SharedFlow>,
  policies: ReadonlyMap<string, IrPolicy>,
  inventory: Inventory,
  report: Report,
) {
  const r = reporterFor(entry, report);
  const ns = entry.id.namespace;
  const used = new Map<string, IrPolicy>();
  const callSites = new Map<string, { field: string; policy: string }>();
  const steps = (entry.object.spec.steps ?? []).map((step, i): IrStep => {
    const field = `spec.steps[${i}]`;
    const policy = policies.get(`${ns}/${step.policy}`);
    if (policy) {
      used.set(policy.name, policy);
      const target = flowCalloutTarget(policy, ns);
      if (target !== undefined && policy.enabled && !callSites.has(target))
        callSites.set(target, { field: `${field}.policy`, policy: policy.name });
    } else reportMissingRef(r, inventory, `${field}.policy`, 'ApiPolicy', ns, step.policy);
    const condition = parse(r, step.condition, `${field}.condition`);
    return { policy: step.policy, ...(condition ? { condition } : {}) };
  });
  const flowPolicies = [...used.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const ownNeeds = (phase: 'request' | 'response') =>
    flowPolicies.some((p) => p.enabled && p.spec.needsBody(p.config, phase));
  const flow: IrSharedFlow = {
    namespace: ns,
    name: entry.id.name,
    generation: entry.object.metadata.generation ?? 0,
    steps,
    policies: flowPolicies,
    calls: [...callSites.keys()].sort(),
    needsBody: { request: ownNeeds('request'), response: ownNeeds('response') },
  };
  return { entry, key: idKey(entry.id), r, flow, callSites };
}

/** Accepted SharedFlows keyed "namespace/name". */
export function resolveSharedFlows(
  inventory: Inventory,
  policies: ReadonlyMap<string, IrPolicy>,
  report: Report,
): Map<string, IrSharedFlow> {
  const candidates = new Map<string, Candidate>();
  for (const entry of sortedValues(inventory.sharedFlows)) {
    const c = candidate(entry, policies, inventory, report);
    if (c.r.failed) inventory.rejected.add(c.key);
    else candidates.set(`${c.flow.namespace}/${c.flow.name}`, c);
  }
  const drop = (name: string) => {
    inventory.rejected.add(candidates.get(name)!.key);
    candidates.delete(name);
  };

  // Cycles: every SharedFlow on one is refused, and the message names the whole cycle.
  const state = new Map<string, 'visiting' | 'done'>();
  const inCycle = new Map<string, string[]>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      for (const member of cycle.slice(0, -1)) if (!inCycle.has(member)) inCycle.set(member, cycle);
      return;
    }
    const c = candidates.get(name);
    if (!c) return;
    state.set(name, 'visiting');
    for (const callee of c.flow.calls) visit(callee, [...path, name]);
    state.set(name, 'done');
  };
  for (const name of [...candidates.keys()].sort()) visit(name, []);
  for (const [name, cycle] of [...inCycle].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const c = candidates.get(name)!;
    const next = cycle[cycle.indexOf(name) + 1]!;
    const shown = cycle.map((n) => `SharedFlow ${n}`).join(' -> ');
    c.r.invalid(c.callSites.get(next)!.field, `FlowCallout cycle: ${shown}`, 'FlowCalloutCycle');
  }
  for (const name of inCycle.keys()) drop(name);

  // References and depth, until nothing changes: a flow calling a refused one is refused in turn.
  const depth = new Map<string, number>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const c = candidates.get(name);
    const d = 1 + Math.max(0, ...(c?.flow.calls ?? []).map(depthOf));
    depth.set(name, d);
    return d;
  };
  for (let changed = true; changed;) {
    changed = false;
    depth.clear();
    for (const name of [...candidates.keys()].sort()) {
      const c = candidates.get(name)!;
      for (const callee of c.flow.calls) {
        if (candidates.has(callee)) continue;
        const site = c.callSites.get(callee)!;
        reportMissingSharedFlow(c.r, inventory, site.field, site.policy, callee);
      }
      if (!c.r.failed && depthOf(name) > maxFlowCalloutDepth)
        c.r.invalid(
          'spec.steps',
          `FlowCallouts from here nest ${depthOf(name)} SharedFlows deep; at most ${maxFlowCalloutDepth}`,
          'FlowCalloutTooDeep',
        );
      if (c.r.failed) {
        drop(name);
        changed = true;
      }
    }
  }

  // Body needs are the flow's and those of every flow it calls (acyclic now).
  const needs = new Map<string, IrSharedFlow['needsBody']>();
  const needsOf = (name: string): IrSharedFlow['needsBody'] => {
    const known = needs.get(name);
    if (known) return known;
    const flow = candidates.get(name)!.flow;
    const inner = flow.calls.map(needsOf);
    const result = {
      request: flow.needsBody.request || inner.some((n) => n.request),
      response: flow.needsBody.response || inner.some((n) => n.response),
    };
    needs.set(name, result);
    return result;
  };
  const out = new Map<string, IrSharedFlow>();
  for (const name of [...candidates.keys()].sort())
    out.set(name, { ...candidates.get(name)!.flow, needsBody: needsOf(name) });
  return out;
}

/**
 * A hook naming a SharedFlow that is missing or not accepted is ResolvedRefs=False on the DataPlane;
 * the DataPlane still serves, with the hook kept, so its extproc answers flow.SharedFlowNotFound rather
 * than let requests skip the platform's flow (docs/tenancy.md#flow-hooks).
 */
export function checkFlowHooks(
  inventory: Inventory,
  dataPlanes: readonly IrDataPlane[],
  flows: ReadonlyMap<string, IrSharedFlow>,
  report: Report,
): void {
  for (const dp of dataPlanes) {
    const entry = inventory.dataPlanes.get(`${dp.namespace}/${dp.name}`);
    if (!entry || !dp.flowHooks) continue;
    const r = reporterFor(entry, report);
    for (const point of ['preProxy', 'preTarget', 'postTarget', 'postProxy'] as const) {
      const hook = dp.flowHooks[point];
      if (hook === undefined || flows.has(hook)) continue;
      reportMissingRef(r, inventory, `spec.flowHooks.${point}.name`, 'SharedFlow', dp.namespace, hook.split('/')[1]!);
    }
  }
}

/** The named SharedFlows and every flow they call, sorted. */
export function sharedFlowClosure(names: Iterable<string>, flows: ReadonlyMap<string, IrSharedFlow>): IrSharedFlow[] {
  const seen = new Set<string>();
  const walk = (name: string) => {
    if (seen.has(name)) return;
    const flow = flows.get(name);
    if (!flow) return;
    seen.add(name);
    flow.calls.forEach(walk);
  };
  for (const name of names) walk(name);
  return [...seen].sort().map((n) => flows.get(n)!);
}
