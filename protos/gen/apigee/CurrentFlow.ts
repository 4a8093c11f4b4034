// Original file: protos/apigee/external_callout.proto


/**
 * current.flow.* (all read-only).
 */
export interface CurrentFlow {
  'name'?: (string);
  'description'?: (string);
}

/**
 * current.flow.* (all read-only).
 */
export interface CurrentFlow__Output {
  'name': (string);
  'description': (string);
}
