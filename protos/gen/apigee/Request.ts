// Original file: protos/apigee/external_callout.proto

import type { Strings as _apigee_Strings, Strings__Output as _apigee_Strings__Output } from '../apigee/Strings.ts';

/**
 * The request message.
 */
export interface Request {
  /**
   * Read-only.
   */
  'uri'?: (string);
  /**
   * Read-only: the HTTP method.
   */
  'verb'?: (string);
  /**
   * Read-only.
   */
  'httpVersion'?: (string);
  /**
   * Header, form and query parameter maps. In the returned message an entry replaces every value of
   * that name with its strings; an entry with no strings removes the name; names absent from the map
   * are left alone.
   */
  'headers'?: ({[key: string]: _apigee_Strings});
  'formParams'?: ({[key: string]: _apigee_Strings});
  'queryParams'?: ({[key: string]: _apigee_Strings});
  /**
   * The body. Returning an empty string removes an existing body.
   */
  'content'?: (string);
}

/**
 * The request message.
 */
export interface Request__Output {
  /**
   * Read-only.
   */
  'uri': (string);
  /**
   * Read-only: the HTTP method.
   */
  'verb': (string);
  /**
   * Read-only.
   */
  'httpVersion': (string);
  /**
   * Header, form and query parameter maps. In the returned message an entry replaces every value of
   * that name with its strings; an entry with no strings removes the name; names absent from the map
   * are left alone.
   */
  'headers': ({[key: string]: _apigee_Strings__Output});
  'formParams': ({[key: string]: _apigee_Strings__Output});
  'queryParams': ({[key: string]: _apigee_Strings__Output});
  /**
   * The body. Returning an empty string removes an existing body.
   */
  'content': (string);
}
