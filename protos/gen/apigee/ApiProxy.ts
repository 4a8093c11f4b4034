// Original file: protos/apigee/external_callout.proto


/**
 * apiproxy.* (all read-only).
 */
export interface ApiProxy {
  'name'?: (string);
  'revision'?: (string);
}

/**
 * apiproxy.* (all read-only).
 */
export interface ApiProxy__Output {
  'name': (string);
  'revision': (string);
}
