// One HTTP exchange as the flow engine sees it: the request, the response once there is one, and the
// flow variables that live from the first policy to postClientFlow. It hands each phase's policies
// their PolicyContext.
import type { Logger } from 'pino';
import type { Proxy__Output } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import type { Stores } from '../stores/types.ts';
import { inlineOffload } from '../workers/inline.ts';
import type { Request, Response } from './message.ts';
import type { Offload } from './offload.ts';
import type { Phase, PolicyContext, RemoteKeySets, RuntimeIndex } from './types.ts';
import { FlowVariables } from './variables.ts';

export interface ExchangeInit {
  request: Request;
  proxy: Proxy__Output;
  runtime: RuntimeIndex;
  stores: Stores;
  /** JWKS by URL for VerifyJWT/VerifyJWS; default none (such a step fails with its fault). */
  keys?: RemoteKeySets;
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
}

/** Stands in when no key service is given: every JWKS URL is unavailable. */
const noRemoteKeys: RemoteKeySets = {
  jwks: () => Promise.reject(new Error('this extproc fetches no keys from URLs')),
};

export class Exchange {
  readonly request: Request;
  response: Response | undefined;
  readonly variables: FlowVariables;
  readonly proxy: Proxy__Output;
  readonly log: Logger;
  private readonly init: ExchangeInit;

  constructor(init: ExchangeInit) {
    this.init = init;
    this.request = init.request;
    this.proxy = init.proxy;
    this.log = init.log;
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

  /** A policy's change was refused: counted by whoever runs the exchange. */
  refusedChange(policyType: string): void {
    this.init.onRefusedChange?.(policyType);
  }

  context(phase: Phase): PolicyContext {
    const { stores, runtime, log, now } = this.init;
    return {
      phase,
      request: this.request,
      response: this.response,
      variables: this.variables,
      stores,
      offload: this.init.offload ?? inlineOffload,
      runtime,
      keys: this.init.keys ?? noRemoteKeys,
      proxy: this.proxy,
      now,
      log,
    };
  }
}
