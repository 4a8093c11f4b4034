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
}

export class PolicyFault extends GatehouseError {
  readonly status: number;
  readonly errorCode: string;
  readonly headers: Record<string, string>;
  readonly reasonPhrase: string | undefined;
  readonly body: { contentType: string; content: string } | undefined;

  constructor(options: FaultOptions) {
    super('GH_ERR_POLICY_FAULT', options.faultString);
    this.status = options.status;
    this.errorCode = options.errorCode;
    this.headers = options.headers ?? {};
    this.reasonPhrase = options.reasonPhrase;
    this.body = options.body;
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
