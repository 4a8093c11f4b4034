// Turns failures into faults and faults into the response the client gets (DESIGN 6): status, the
// fault's headers, and either the policy's own body (RaiseFault) or the standard JSON fault body.
import { PolicyFault } from './faults.ts';
import { BodyParseError, createResponseMessage, type Response } from './message.ts';

export const INTERNAL_ERROR_CODE = 'gatehouse.InternalError';
export const INVALID_BODY_CODE = 'gatehouse.InvalidBody';

/**
 * What a failed step means as a fault. PolicyFaults are the policies' own; a body that is not what
 * its content type says is the client's fault (400); anything else is ours (500) and is not
 * described to the client.
 */
export function toPolicyFault(err: unknown): PolicyFault {
  if (err instanceof PolicyFault) return err;
  if (err instanceof BodyParseError) {
    return new PolicyFault({ status: 400, errorCode: INVALID_BODY_CODE, faultString: err.message });
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
