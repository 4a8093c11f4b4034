// Prepares a proxy's flows once per snapshot load: every policy created through the registry, every
// condition compiled, disabled steps dropped, consecutive admission steps merged (admission.ts), and
// the body needs of each phase worked out. A policy type that is not registered, a config that
// create() rejects or a step naming an unknown policy makes the whole snapshot invalid (the previous
// one keeps serving).
import { GatehouseError } from '../../../lib/errors.ts';
import type { FlowPair__Output } from '../../../protos/gen/gatehouse/v1/FlowPair.ts';
import type { FlowHooks__Output } from '../../../protos/gen/gatehouse/v1/FlowHooks.ts';
import type { Policy__Output } from '../../../protos/gen/gatehouse/v1/Policy.ts';
import type { Proxy__Output } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import type { SharedFlow__Output } from '../../../protos/gen/gatehouse/v1/SharedFlow.ts';
import type { Step__Output } from '../../../protos/gen/gatehouse/v1/Step.ts';
import { maxFlowCalloutDepth, type FlowCalloutConfig } from '../../../protos/policies/extension/flow-callout.ts';
import { policyTypesByName } from '../../../protos/policies/index.ts';
import { mergeAdmissionSteps } from './admission.ts';
import { compileCondition, type Predicate } from './conditions.ts';
import { PolicyFault } from './faults.ts';
import type { Phase, PolicyImplementation, PolicyStep } from './types.ts';

export type PolicyRegistry = ReadonlyMap<string, PolicyImplementation<never>>;

/** Whether a step of this type and config reads the message body in the phase (the compiler asks the same). */
export type BodyNeeds = (type: string, config: unknown, phase: Phase) => boolean;

export const policyBodyNeeds: BodyNeeds = (type, config, phase) =>
  policyTypesByName.get(type)?.needsBody(config, phase) ?? false;

export class ProxyInvalidError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_PROXY_INVALID', message, options);
  }
}

export interface CompiledStep {
  /** The policy's name (fault.policy, logs). */
  policy: string;
  type: string;
  when: Predicate;
  /** The condition's source text, when the step has one (debug sessions show it). */
  condition?: string;
  continueOnError: boolean;
  run: PolicyStep;
  /** A merged admission step (flow/admission.ts): the steps it stands for, in order. */
  merged?: CompiledStep[];
  /** FlowCallout: the SharedFlow the engine runs after the step (which set the parameters). */
  sharedFlow?: CompiledSharedFlow;
}

/** A SharedFlow's steps, compiled once per snapshot and shared by every caller (docs/policies.md#flowcallout). */
export interface CompiledSharedFlow {
  /** "namespace/name" */
  name: string;
  steps: CompiledStep[];
  /** Whether a step (or a flow it calls) reads the body in the phase it is called in. */
  needsBody: Record<Phase, boolean>;
}

/** The DataPlane's flow hooks (docs/architecture.md#the-flow-engine), each absent when not set. */
export interface CompiledFlowHooks {
  preProxy?: CompiledSharedFlow;
  preTarget?: CompiledSharedFlow;
  postTarget?: CompiledSharedFlow;
  postProxy?: CompiledSharedFlow;
}

/** Shared flows by "namespace/name", and the hooks of the snapshot's DataPlane. */
export interface SharedFlowCatalog {
  flows: ReadonlyMap<string, CompiledSharedFlow>;
  hooks: CompiledFlowHooks;
}

export const noSharedFlows: SharedFlowCatalog = { flows: new Map(), hooks: {} };

export interface CompiledFlowPair {
  request: CompiledStep[];
  response: CompiledStep[];
}

export interface CompiledConditionalFlow extends CompiledFlowPair {
  name: string;
  when: Predicate;
}

export interface CompiledProxy {
  proxy: Proxy__Output;
  preFlow: CompiledFlowPair;
  conditionalFlows: CompiledConditionalFlow[];
  postFlow: CompiledFlowPair;
  postClientFlow: CompiledStep[];
  faultRules: Array<{ name: string; when: Predicate; steps: CompiledStep[] }>;
  defaultFaultRule: { steps: CompiledStep[]; alwaysEnforce: boolean } | undefined;
  hooks: CompiledFlowHooks;
  /** Whether a step of the phase reads the body, i.e. the route's processing mode buffers it (docs/architecture.md#the-envoy-and-extproc-contract). */
  needsBody: Record<Phase, boolean>;
}

interface PreparedPolicy {
  type: string;
  continueOnError: boolean;
  enabled: boolean;
  run: PolicyStep;
  needsBody: Record<Phase, boolean>;
  /** FlowCallout: the "namespace/name" of the SharedFlow it calls. */
  calls?: string;
}

/** Creates every policy of a proxy or shared flow once, through the registry. */
function preparePolicies(
  where: string,
  namespace: string,
  entries: Record<string, Policy__Output>,
  registry: PolicyRegistry,
  bodyNeeds: BodyNeeds,
): Map<string, PreparedPolicy> {
  const policies = new Map<string, PreparedPolicy>();
  for (const [name, policy] of Object.entries(entries)) {
    const impl = registry.get(policy.type);
    if (!impl)
      throw new ProxyInvalidError(`${where}: policy ${name}: type "${policy.type}" is not supported by this extproc`);
    let config: unknown;
    try {
      config = policy.configJson === '' ? {} : JSON.parse(policy.configJson);
    } catch (err) {
      throw new ProxyInvalidError(`${where}: policy ${name}: configJson is not JSON`, { cause: err });
    }
    let run: PolicyStep;
    try {
      run = impl.create(config as never, { namespace, name });
    } catch (err) {
      throw new ProxyInvalidError(`${where}: policy ${name} (${policy.type}): ${(err as Error).message}`, {
        cause: err,
      });
    }
    policies.set(name, {
      type: policy.type,
      continueOnError: policy.continueOnError,
      enabled: policy.enabled,
      run,
      needsBody: {
        request: bodyNeeds(policy.type, config, 'request'),
        response: bodyNeeds(policy.type, config, 'response'),
      },
      ...(policy.type === 'FlowCallout'
        ? { calls: `${namespace}/${(config as Partial<FlowCalloutConfig>).sharedFlowBundle ?? ''}` }
        : {}),
    });
  }
  return policies;
}

/**
 * Stands in for a SharedFlow the snapshot lacks (a flow hook naming a SharedFlow that is missing or
 * not accepted): every request that reaches it fails, as Apigee answers (flow.SharedFlowNotFound), so
 * a missing platform hook never lets traffic through unchecked.
 */
export function missingSharedFlow(name: string): CompiledSharedFlow {
  const shown = name.slice(name.indexOf('/') + 1);
  const run: PolicyStep = () => {
    throw new PolicyFault({
      status: 500,
      errorCode: 'flow.SharedFlowNotFound',
      faultString: `Shared Flow ${shown} Not Found`,
    });
  };
  const step: CompiledStep = { policy: shown, type: 'FlowCallout', when: () => true, continueOnError: false, run };
  return { name, steps: [step], needsBody: { request: false, response: false } };
}

/**
 * Compiles every SharedFlow of the snapshot once, each after the flows it calls, and the DataPlane's
 * hooks. A cycle or a chain deeper than maxFlowCalloutDepth (which the operator refuses) makes the
 * snapshot invalid; a FlowCallout or hook naming an absent flow gets missingSharedFlow.
 */
export function compileSharedFlows(
  flows: readonly SharedFlow__Output[],
  hooks: FlowHooks__Output | null | undefined,
  registry: PolicyRegistry,
  bodyNeeds: BodyNeeds = policyBodyNeeds,
): SharedFlowCatalog {
  const byName = new Map(flows.map((f) => [`${f.namespace}/${f.name}`, f]));
  const compiled = new Map<string, CompiledSharedFlow>();
  const visiting: string[] = [];
  const lookup = (name: string): CompiledSharedFlow => {
    const done = compiled.get(name);
    if (done) return done;
    const flow = byName.get(name);
    if (!flow) return missingSharedFlow(name);
    if (visiting.includes(name))
      throw new ProxyInvalidError(`shared flow ${name}: FlowCallout cycle ${[...visiting, name].join(' -> ')}`);
    if (visiting.length >= maxFlowCalloutDepth)
      throw new ProxyInvalidError(
        `shared flow ${name}: FlowCallouts nest deeper than ${maxFlowCalloutDepth} (${[...visiting, name].join(' -> ')})`,
      );
    visiting.push(name);
    const where = `shared flow ${name}`;
    const policies = preparePolicies(where, flow.namespace, flow.policies, registry, bodyNeeds);
    const needsBody: Record<Phase, boolean> = { request: false, response: false };
    // A shared flow runs in its caller's phase: its body needs count for both.
    const steps = mergeAdmissionSteps(
      flow.steps.flatMap((step, i) => {
        const prepared = prepareStep(where, policies, step, `steps[${i}]`, lookup);
        if (!prepared) return [];
        for (const phase of ['request', 'response'] as const) needsBody[phase] ||= prepared.needsBody[phase];
        return [{ step: prepared.step, conditional: !!step.condition }];
      }),
    );
    visiting.pop();
    const result = { name, steps, needsBody };
    compiled.set(name, result);
    return result;
  };
  for (const name of [...byName.keys()].sort()) lookup(name);
  const hook = (name: string | undefined) => (name ? { flow: lookup(name) } : {});
  return {
    flows: compiled,
    hooks: {
      ...withKey('preProxy', hook(hooks?.preProxy)),
      ...withKey('preTarget', hook(hooks?.preTarget)),
      ...withKey('postTarget', hook(hooks?.postTarget)),
      ...withKey('postProxy', hook(hooks?.postProxy)),
    },
  };
}

function withKey<K extends string>(
  key: K,
  found: { flow?: CompiledSharedFlow },
): Partial<Record<K, CompiledSharedFlow>> {
  return found.flow ? ({ [key]: found.flow } as Partial<Record<K, CompiledSharedFlow>>) : {};
}

/** One step: its policy, condition and, for FlowCallout, the flow it calls; undefined for a disabled policy. */
function prepareStep(
  where: string,
  policies: ReadonlyMap<string, PreparedPolicy>,
  step: Step__Output,
  field: string,
  sharedFlow: (name: string) => CompiledSharedFlow,
): { step: CompiledStep; needsBody: Record<Phase, boolean> } | undefined {
  const policy = policies.get(step.policy);
  if (!policy) throw new ProxyInvalidError(`${where}: ${field}: policy "${step.policy}" is not in the policies`);
  if (!policy.enabled) return undefined;
  let when: Predicate;
  try {
    when = compileCondition(step.condition);
  } catch (err) {
    throw new ProxyInvalidError(`${where}: ${field}: ${(err as Error).message}`, { cause: err });
  }
  const called = policy.calls === undefined ? undefined : sharedFlow(policy.calls);
  return {
    step: {
      policy: step.policy,
      type: policy.type,
      when,
      ...(step.condition?.source ? { condition: step.condition.source } : {}),
      continueOnError: policy.continueOnError,
      run: policy.run,
      ...(called ? { sharedFlow: called } : {}),
    },
    needsBody: {
      request: policy.needsBody.request || (called?.needsBody.request ?? false),
      response: policy.needsBody.response || (called?.needsBody.response ?? false),
    },
  };
}

export function compileProxy(
  proxy: Proxy__Output,
  registry: PolicyRegistry,
  bodyNeeds: BodyNeeds = policyBodyNeeds,
  shared: SharedFlowCatalog = noSharedFlows,
): CompiledProxy {
  const where = `proxy ${proxy.route || `${proxy.namespace}/${proxy.name}`}`;
  const policies = preparePolicies(where, proxy.namespace, proxy.policies, registry, bodyNeeds);
  const sharedFlow = (name: string) => shared.flows.get(name) ?? missingSharedFlow(name);

  const needsBody: Record<Phase, boolean> = { request: false, response: false };
  // `phase` undefined: steps that run outside Envoy's phases (fault rules, postClientFlow) need no body.
  const prepare = (
    list: Step__Output[],
    phase: Phase | undefined,
    field: string,
  ): Array<{ step: CompiledStep; conditional: boolean }> =>
    list.flatMap((step, i) => {
      const prepared = prepareStep(where, policies, step, `${field}[${i}]`, sharedFlow);
      if (!prepared) return [];
      if (phase) needsBody[phase] ||= prepared.needsBody[phase];
      return [{ step: prepared.step, conditional: !!step.condition }];
    });
  // Flow segments (not fault rules) merge consecutive admission steps into one store call.
  const steps = (list: Step__Output[], phase: Phase | undefined, field: string, merge = true): CompiledStep[] => {
    const compiled = prepare(list, phase, field);
    return merge ? mergeAdmissionSteps(compiled) : compiled.map((c) => c.step);
  };
  const pair = (p: FlowPair__Output | null, field: string): CompiledFlowPair => ({
    request: steps(p?.request ?? [], 'request', `${field}.request`),
    response: steps(p?.response ?? [], 'response', `${field}.response`),
  });
  const condition = (c: Parameters<typeof compileCondition>[0], field: string): Predicate => {
    try {
      return compileCondition(c);
    } catch (err) {
      throw new ProxyInvalidError(`${where}: ${field}: ${(err as Error).message}`, { cause: err });
    }
  };

  // The hooks run on every proxy: their body needs are the proxy's too.
  const { preProxy, preTarget, postTarget, postProxy } = shared.hooks;
  for (const hook of [preProxy, preTarget]) needsBody.request ||= hook?.needsBody.request ?? false;
  for (const hook of [postTarget, postProxy]) needsBody.response ||= hook?.needsBody.response ?? false;
  const flows = proxy.flows;
  return {
    proxy,
    preFlow: pair(flows?.preFlow ?? null, 'flows.preFlow'),
    conditionalFlows: (flows?.conditionalFlows ?? []).map((f, i) => ({
      name: f.name,
      when: condition(f.condition, `flows.conditionalFlows[${i}].condition`),
      request: steps(f.request, 'request', `flows.conditionalFlows[${i}].request`),
      response: steps(f.response, 'response', `flows.conditionalFlows[${i}].response`),
    })),
    postFlow: pair(flows?.postFlow ?? null, 'flows.postFlow'),
    postClientFlow: steps(flows?.postClientFlow?.response ?? [], undefined, 'flows.postClientFlow.response'),
    faultRules: proxy.faultRules.map((r, i) => ({
      name: r.name,
      when: condition(r.condition, `faultRules[${i}].condition`),
      steps: steps(r.steps, undefined, `faultRules[${i}].steps`, false),
    })),
    defaultFaultRule: proxy.defaultFaultRule
      ? {
          steps: steps(proxy.defaultFaultRule.steps, undefined, 'defaultFaultRule.steps', false),
          alwaysEnforce: proxy.defaultFaultRule.alwaysEnforce,
        }
      : undefined,
    hooks: shared.hooks,
    needsBody,
  };
}
