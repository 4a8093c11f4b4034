// Original file: protos/apigee/external_callout.proto

import type { Response as _apigee_Response, Response__Output as _apigee_Response__Output } from '../apigee/Response.ts';

/**
 * The error flow's state.
 */
export interface Error {
  /**
   * Read-only: the fault string that started the error flow.
   */
  'message'?: (string);
  /**
   * The error response.
   */
  'response'?: (_apigee_Response | null);
}

/**
 * The error flow's state.
 */
export interface Error__Output {
  /**
   * Read-only: the fault string that started the error flow.
   */
  'message': (string);
  /**
   * The error response.
   */
  'response': (_apigee_Response__Output | null);
}
