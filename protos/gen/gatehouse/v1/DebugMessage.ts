// Original file: protos/gatehouse/v1/debug.proto

import type { DebugVariable as _gatehouse_v1_DebugVariable, DebugVariable__Output as _gatehouse_v1_DebugVariable__Output } from '../../gatehouse/v1/DebugVariable.ts';

export interface DebugMessage {
  /**
   * Request: method, path (without the query string's masked values); response: status.
   */
  'method'?: (string);
  'path'?: (string);
  'status'?: (number);
  'headers'?: (_gatehouse_v1_DebugVariable)[];
  /**
   * UTF-8 text, or base64 when binary (body_base64).
   */
  'body'?: (string);
  'bodyBase64'?: (boolean);
  'bodyTruncated'?: (boolean);
}

export interface DebugMessage__Output {
  /**
   * Request: method, path (without the query string's masked values); response: status.
   */
  'method': (string);
  'path': (string);
  'status': (number);
  'headers': (_gatehouse_v1_DebugVariable__Output)[];
  /**
   * UTF-8 text, or base64 when binary (body_base64).
   */
  'body': (string);
  'bodyBase64': (boolean);
  'bodyTruncated': (boolean);
}
