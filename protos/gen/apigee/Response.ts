// Original file: protos/apigee/external_callout.proto

import type { Strings as _apigee_Strings, Strings__Output as _apigee_Strings__Output } from '../apigee/Strings.ts';

/**
 * The response message.
 */
export interface Response {
  /**
   * Read-only.
   */
  'statusCode'?: (number);
  /**
   * Read-only, e.g. "Not Found".
   */
  'reasonPhrase'?: (string);
  /**
   * Same rules as Request.headers.
   */
  'headers'?: ({[key: string]: _apigee_Strings});
  /**
   * Same rules as Request.content.
   */
  'content'?: (string);
}

/**
 * The response message.
 */
export interface Response__Output {
  /**
   * Read-only.
   */
  'statusCode': (number);
  /**
   * Read-only, e.g. "Not Found".
   */
  'reasonPhrase': (string);
  /**
   * Same rules as Request.headers.
   */
  'headers': ({[key: string]: _apigee_Strings__Output});
  /**
   * Same rules as Request.content.
   */
  'content': (string);
}
