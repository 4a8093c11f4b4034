// Turns failures into faults and faults into the response the client gets (docs/architecture.md#the-envoy-and-extproc-contract): status, the
// fault's headers, and either the policy's own body (RaiseFault) or the standard JSON fault body.
import { RefusedChangeError } from './allowed-changes.ts';
import { PolicyFault } from './faults.ts';
import {
  BodyParseError,
  createResponseMessage,
  DuplicateContentTypeError,
  MalformedContentTypeError,
  type Response,
} from './message.ts';

export const INTERNAL_ERROR_CODE = 'gatehouse.InternalError';
export const INVALID_BODY_CODE = 'gatehouse.InvalidBody';
/** Apigee's code for a header that may not repeat, here a Content-Type with several media types. */
export const DUPLICATE_HEADER_CODE = 'protocol.http.DuplicateHeader';
export const INVALID_CONTENT_TYPE_CODE = 'gatehouse.InvalidContentType';
export const REFUSED_CHANGE_CODE = 'gatehouse.RefusedChange';

/**
 * What a failed step means as a fault. PolicyFaults are the policies' own; a body that is not what
 * its content type says, or a Content-Type that does not say one thing, is the client's fault (400;
 * 502 for an upstream response); anything else is ours (500) and is not described to the client.
 */
export function toPolicyFault(err: unknown): PolicyFault {
  if (err instanceof PolicyFault) return err;
  if (err instanceof BodyParseError) {
    return new PolicyFault({ status: 400, errorCode: INVALID_BODY_CODE, faultString: err.message });
  }
  // The client's request is refused with 400; an upstream response the proxy cannot vouch for with 502.
  if (err instanceof DuplicateContentTypeError) {
    const status = err.side === 'request' ? 400 : 502;
    return new PolicyFault({
      status,
      errorCode: DUPLICATE_HEADER_CODE,
      faultString: 'Duplicate Header "Content-Type"',
    });
  }
  if (err instanceof MalformedContentTypeError) {
    const status = err.side === 'request' ? 400 : 502;
    return new PolicyFault({
      status,
      errorCode: INVALID_CONTENT_TYPE_CODE,
      faultString: 'Content-Type is not a media type (type/subtype)',
    });
  }
  // A change Envoy would not apply (flow/allowed-changes.ts): the proxy's configuration is at fault.
  if (err instanceof RefusedChangeError) {
    return new PolicyFault({
      status: 500,
      errorCode: REFUSED_CHANGE_CODE,
      faultString: `The gateway cannot make this change: ${err.message}`,
    });
  }
  return new PolicyFault({ status: 500, errorCode: INTERNAL_ERROR_CODE, faultString: 'Internal error' });
}

export function faultBody(faultString: string, errorCode: string): string {
  return JSON.stringify({ fault: { faultstring: faultString, detail: { errorcode: errorCode } } });
}

/** The response a fault sends unless a fault rule changes it. */
export function faultResponse(fault: PolicyFault): Response {
  const body = fault.body ?? { contentType: 'application/json', content: faultBody(fault.message, fault.errorCode) };
  const response = createResponseMessage({
    status: fault.status,
    headers: fault.headers,
    body: Buffer.from(body.content, 'utf8'),
  });
  response.headers.set('content-type', body.contentType);
  response.reasonPhrase = fault.reasonPhrase;
  return response;
}

/** `fault.name` is the last part of the error code, as Apigee names it: "InvalidApiKey". */
export function faultName(errorCode: string): string {
  const dot = errorCode.lastIndexOf('.');
  return dot < 0 ? errorCode : errorCode.slice(dot + 1);
}
