// A policy failure (docs/architecture.md#the-flow-engine, docs/architecture.md#the-envoy-and-extproc-contract): the flow engine turns it into fault variables and, unless a fault
// rule answers, the default fault response `{"fault":{"faultstring":...,"detail":{"errorcode":...}}}`.
import { GatehouseError } from '../../../lib/errors.ts';
import { StoreUnavailableError } from '../stores/types.ts';

export interface FaultOptions {
  /** HTTP status of the fault response. */
  status: number;
  /** Apigee-style error code, e.g. "oauth.v2.InvalidApiKey". */
  errorCode: string;
  /** Human-readable faultstring; must never contain secrets. */
  faultString: string;
  headers?: Record<string, string>;
  reasonPhrase?: string;
  /** Replaces the standard JSON fault body (RaiseFault). */
  body?: { contentType: string; content: string };
  /** Enters the error flow even under continueOnError (a fault an ExternalCallout server raises). */
  overridesContinueOnError?: boolean;
}

export class PolicyFault extends GatehouseError {
  readonly status: number;
  readonly errorCode: string;
  readonly headers: Record<string, string>;
  readonly reasonPhrase: string | undefined;
  readonly body: { contentType: string; content: string } | undefined;
  readonly overridesContinueOnError: boolean;

  constructor(options: FaultOptions) {
    super('GH_ERR_POLICY_FAULT', options.faultString);
    this.status = options.status;
    this.errorCode = options.errorCode;
    this.headers = options.headers ?? {};
    this.reasonPhrase = options.reasonPhrase;
    this.body = options.body;
    this.overridesContinueOnError = options.overridesContinueOnError ?? false;
  }
}

/** An ExternalCallout's TLS material cannot be used (bad PEM, key and certificate that do not match). */
export class CalloutTlsError extends GatehouseError {
  constructor(detail: string) {
    super('GH_ERR_CALLOUT_TLS', detail);
  }
}

/**
 * An ExternalCallout call failed: the message is the gRPC status name and its details
 * ("DEADLINE_EXCEEDED: Deadline exceeded"), never TLS material.
 */
export class CalloutCallError extends GatehouseError {
  constructor(detail: string) {
    super('GH_ERR_CALLOUT_FAILED', detail);
  }
}

export const STORE_UNAVAILABLE_CODE = 'gatehouse.StoreUnavailable';

/** Runs a store call; StoreUnavailableError (onUnavailable: FailClosed) becomes a 503 fault. */
export async function withStore<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof StoreUnavailableError) {
      throw new PolicyFault({
        status: 503,
        errorCode: STORE_UNAVAILABLE_CODE,
        faultString: 'The rate limit and cache store is unavailable',
        headers: { 'retry-after': '1' },
      });
    }
    throw err;
  }
}
