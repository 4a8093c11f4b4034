// Prepares a proxy's flows once per snapshot load: every policy created through the registry, every
// condition compiled, disabled steps dropped, consecutive admission steps merged (admission.ts), and
// the body needs of each phase worked out. A policy type that is not registered, a config that
// create() rejects or a step naming an unknown policy makes the whole snapshot invalid (the previous
// one keeps serving).
import { GatehouseError } from '../../../lib/errors.ts';
import type { FlowPair__Output } from '../../../protos/gen/gatehouse/v1/FlowPair.ts';
import type { Proxy__Output } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import type { Step__Output } from '../../../protos/gen/gatehouse/v1/Step.ts';
import { policyTypesByName } from '../../../protos/policies/index.ts';
import { mergeAdmissionSteps } from './admission.ts';
import { compileCondition, type Predicate } from './conditions.ts';
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
  continueOnError: boolean;
  run: PolicyStep;
  /** A merged admission step (flow/admission.ts): the steps it stands for, in order. */
  merged?: CompiledStep[];
}

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
  /** Whether a step of the phase reads the body, i.e. the route's processing mode buffers it (docs/architecture.md#the-envoy-and-extproc-contract). */
  needsBody: Record<Phase, boolean>;
}

interface PreparedPolicy {
  type: string;
  continueOnError: boolean;
  enabled: boolean;
  run: PolicyStep;
  needsBody: Record<Phase, boolean>;
}

export function compileProxy(
  proxy: Proxy__Output,
  registry: PolicyRegistry,
  bodyNeeds: BodyNeeds = policyBodyNeeds,
): CompiledProxy {
  const where = `proxy ${proxy.route || `${proxy.namespace}/${proxy.name}`}`;
  const policies = new Map<string, PreparedPolicy>();
  for (const [name, policy] of Object.entries(proxy.policies)) {
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
      run = impl.create(config as never, { namespace: proxy.namespace, name });
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
    });
  }

  const needsBody: Record<Phase, boolean> = { request: false, response: false };
  // `phase` undefined: steps that run outside Envoy's phases (fault rules, postClientFlow) need no body.
  const prepare = (
    list: Step__Output[],
    phase: Phase | undefined,
    field: string,
  ): Array<{ step: CompiledStep; conditional: boolean }> =>
    list.flatMap((step, i) => {
      const policy = policies.get(step.policy);
      if (!policy)
        throw new ProxyInvalidError(`${where}: ${field}[${i}]: policy "${step.policy}" is not in the proxy's policies`);
      if (!policy.enabled) return [];
      if (phase) needsBody[phase] ||= policy.needsBody[phase];
      let when: Predicate;
      try {
        when = compileCondition(step.condition);
      } catch (err) {
        throw new ProxyInvalidError(`${where}: ${field}[${i}]: ${(err as Error).message}`, { cause: err });
      }
      return [
        {
          step: {
            policy: step.policy,
            type: policy.type,
            when,
            continueOnError: policy.continueOnError,
            run: policy.run,
          },
          conditional: !!step.condition,
        },
      ];
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
    needsBody,
  };
}
