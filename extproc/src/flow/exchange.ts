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
  MessageLogs,
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
  /** MessageLogging's senders; default none (every message is dropped). */
  messageLogs?: MessageLogs;
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
/** Stands in when no message log senders are given: every message is dropped. */
const noMessageLogs: MessageLogs = { send: () => 'dropped' };
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

  /** What policies are handed as `variables`: the debug session's wrapper while one records, else `variables`. */
  get policyVariables(): Variables {
    return this.observed ?? this.variables;
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
    return new StepContext(this, this.init, phase, step);
  }
}

/**
 * A step's PolicyContext: a class (one allocation of a known shape per step) rather than a literal
 * with closures and an accessor, which the profile showed per step (docs/architecture.md#the-hot-path).
 * `log` is a getter on the prototype: copy it by name when spreading a context into another object.
 */
class StepContext implements PolicyContext {
  readonly phase: Phase;
  readonly request: Request;
  readonly response: Response | undefined;
  readonly variables: Variables;
  readonly stores: Stores;
  readonly offload: Offload;
  readonly runtime: RuntimeIndex;
  readonly keys: RemoteKeySets;
  readonly callouts: ExternalCallouts;
  readonly egress: Egress;
  readonly messageLogs: MessageLogs;
  readonly proxy: Proxy__Output;
  readonly now: () => number;
  readonly #exchange: Exchange;
  readonly #step: { policy: string; type: string } | undefined;
  #log: Logger | undefined;

  constructor(
    exchange: Exchange,
    init: ExchangeInit,
    phase: Phase,
    step: { policy: string; type: string } | undefined,
  ) {
    this.phase = phase;
    this.request = exchange.request;
    this.response = exchange.response;
    this.variables = exchange.policyVariables;
    this.stores = init.stores;
    this.offload = init.offload ?? inlineOffload;
    this.runtime = init.runtime;
    this.keys = init.keys ?? noRemoteKeys;
    this.callouts = init.callouts ?? noCallouts;
    this.egress = init.egress ?? noEgress;
    this.messageLogs = init.messageLogs ?? noMessageLogs;
    this.proxy = exchange.proxy;
    this.now = init.now;
    this.#exchange = exchange;
    this.#step = step;
  }

  get log(): Logger {
    const step = this.#step;
    this.#log ??= step ? this.#exchange.log.child({ policy: step.policy, policyType: step.type }) : this.#exchange.log;
    return this.#log;
  }
}
