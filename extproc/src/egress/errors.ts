// One error class per way an outbound call fails (docs/architecture.md#egress), each with a stable
// code, so a policy can map it to its own fault (ServiceCallout: steps.servicecallout.ExecutionFailed
// with the reason) and a metric can count it. Pure: the flow engine and the policies import it. The
// messages name the URL's origin and the failure, never a header, body or key.
import { GatehouseError } from '../../../lib/errors.ts';

/** Every egress failure: `reason` is a short label for metrics and logs. */
export abstract class EgressError extends GatehouseError {
  abstract readonly reason: 'refused' | 'timeout' | 'tls' | 'connect' | 'too-large' | 'invalid-url';
}

/** The URL, or the address its name resolves to, is one the DataPlane does not let callouts reach. */
export class EgressRefusedError extends EgressError {
  readonly reason = 'refused';
  constructor(target: string, why: string) {
    super('GH_ERR_EGRESS_REFUSED', `refused to call ${target}: ${why}`);
  }
}

/** No answer in time: `stage` says whether the connection or the whole exchange ran out. */
export class EgressTimeoutError extends EgressError {
  readonly reason = 'timeout';
  constructor(target: string, stage: 'connect' | 'total', ms: number) {
    super(
      'GH_ERR_EGRESS_TIMEOUT',
      stage === 'connect'
        ? `no connection to ${target} within ${ms} ms`
        : `no complete answer from ${target} within ${ms} ms`,
    );
  }
}

/** The TLS handshake failed: the server's certificate is not trusted, expired or for another name, or ours was refused. */
export class EgressTlsError extends EgressError {
  readonly reason = 'tls';
  constructor(target: string, detail: string) {
    super('GH_ERR_EGRESS_TLS', `TLS with ${target} failed: ${detail}`);
  }
}

/** The connection could not be made or broke: refused, reset, unreachable, name not found. */
export class EgressConnectError extends EgressError {
  readonly reason = 'connect';
  constructor(target: string, detail: string) {
    super('GH_ERR_EGRESS_CONNECT', `connection to ${target} failed: ${detail}`);
  }
}

/** The response body is over the cap; the connection is closed rather than read on. */
export class EgressResponseTooLargeError extends EgressError {
  readonly reason = 'too-large';
  constructor(target: string, maxBytes: number) {
    super('GH_ERR_EGRESS_RESPONSE_TOO_LARGE', `the response from ${target} is over ${maxBytes} bytes`);
  }
}

/** Not an http: or https: URL, or one with credentials in it. */
export class EgressInvalidUrlError extends EgressError {
  readonly reason = 'invalid-url';
  constructor(detail: string) {
    super('GH_ERR_EGRESS_INVALID_URL', `not a URL a callout may use: ${detail}`);
  }
}
