// One HTTP exchange as the flow engine sees it: the request, the response once there is one, and the
// flow variables that live from the first policy to postClientFlow. It hands each phase's policies
// their PolicyContext.
import type { Logger } from 'pino';
import type { Proxy__Output } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import type { Stores } from '../stores/types.ts';
import { inlineOffload } from '../workers/inline.ts';
import { CalloutCallError } from './faults.ts';
import type { Request, Response } from './message.ts';
import type { Offload } from './offload.ts';
import type {
  Egress,
  ExternalCallouts,
  Phase,
  PolicyContext,
  RemoteKeySets,
  RuntimeIndex,
  Variables,
} from './types.ts';
import { FlowVariables } from './variables.ts';

export interface ExchangeInit {
  request: Request;
  proxy: Proxy__Output;
  runtime: RuntimeIndex;
  stores: Stores;
  /** JWKS by URL for VerifyJWT/VerifyJWS; default none (such a step fails with its fault). */
  keys?: RemoteKeySets;
  /** ExternalCallout servers; default none (such a step fails with ExecutionError). */
  callouts?: ExternalCallouts;
  /** Outbound HTTP for ServiceCallout; default none (such a step fails with its fault). */
  egress?: Egress;
  /** Where policies run heavy body work; default inline (no worker pool). */
  offload?: Offload;
  log: Logger;
  now: () => number;
  environmentName: string;
  messageId: string;
  client: { ip: string; cn: string };
  /** Variables set before any policy runs (tests, callers that know more). */
  variables?: Record<string, unknown>;
  /** Told of every change a policy made that the gateway refused (flow/allowed-changes.ts), for a metric. */
  onRefusedChange?: (policyType: string) => void;
  /** Told of every policy step's end, for a metric and the step's span (the policy's name, its fault code). */
  onStep?: (policyType: string, outcome: StepOutcome, seconds: number, policy: string, errorCode?: string) => void;
}

/** Stands in when no key service is given: every JWKS URL is unavailable. */
const noRemoteKeys: RemoteKeySets = {
  jwks: () => Promise.reject(new Error('this extproc fetches no keys from URLs')),
};
/** Stands in when no callout client is given: every call fails. */
const noCallouts: ExternalCallouts = {
  call: () => Promise.reject(new CalloutCallError('UNAVAILABLE: this extproc makes no callouts')),
};
/** Stands in when no egress client is given: every callout fails. */
const noEgress: Egress = {
  send: () => Promise.reject(new Error('this extproc makes no outbound calls')),
};
/** How a policy step ended: went on, answered directly, failed (a fault), or failed with continueOnError. */
export type StepOutcome = 'continue' | 'respond' | 'fault' | 'continued';

export class Exchange {
  readonly request: Request;
  response: Response | undefined;
  readonly variables: FlowVariables;
  readonly proxy: Proxy__Output;
  private readonly init: ExchangeInit;
  /** What policies are given instead of `variables` while a debug session records (observeVariables). */
  private observed: Variables | undefined;

  constructor(init: ExchangeInit) {
    this.init = init;
    this.request = init.request;
    this.proxy = init.proxy;
    this.variables = new FlowVariables(
      {
        request: init.request,
        response: () => this.response,
        proxy: init.proxy,
        environmentName: init.environmentName,
        messageId: init.messageId,
        client: init.client,
        now: init.now,
      },
      init.variables,
    );
  }

  /** Read when a line is logged: the caller may build its logger lazily (a getter on ExchangeInit). */
  get log(): Logger {
    return this.init.log;
  }

  /**
   * Policies read and write the flow variables through `wrapper` from now on (a debug session records
   * what each step read, set and removed; docs/operations.md#debug-sessions). Only a captured
   * transaction has one: the others hand policies `variables` itself.
   */
  observeVariables(wrapper: Variables): void {
    this.observed = wrapper;
  }

  /** A policy's change was refused: counted by whoever runs the exchange. */
  refusedChange(policyType: string): void {
    this.init.onRefusedChange?.(policyType);
  }

  /** A step ended (the engine times it); `errorCode` when it failed. */
  stepDone(step: { policy: string; type: string }, outcome: StepOutcome, seconds: number, errorCode?: string): void {
    this.init.onStep?.(step.type, outcome, seconds, step.policy, errorCode);
  }

  /**
   * A step's PolicyContext. Its `log` is the exchange's logger with the step's policy and type on every
   * line, made only if the policy logs (no logger is built for the steps that do not).
   */
  context(phase: Phase, step?: { policy: string; type: string }): PolicyContext {
    const { stores, runtime, now } = this.init;
    const base = () => this.log;
    let stepLog: Logger | undefined;
    return {
      phase,
      request: this.request,
      response: this.response,
      variables: this.observed ?? this.variables,
      stores,
      offload: this.init.offload ?? inlineOffload,
      runtime,
      keys: this.init.keys ?? noRemoteKeys,
      callouts: this.init.callouts ?? noCallouts,
      egress: this.init.egress ?? noEgress,
      proxy: this.proxy,
      now,
      get log(): Logger {
        stepLog ??= step ? base().child({ policy: step.policy, policyType: step.type }) : base();
        return stepLog;
      },
    };
  }
}
