// Original file: protos/apigee/external_callout.proto


/**
 * route.* (all read-only).
 */
export interface Route {
  'name'?: (string);
  'target'?: (string);
}

/**
 * route.* (all read-only).
 */
export interface Route__Output {
  'name': (string);
  'target': (string);
}
