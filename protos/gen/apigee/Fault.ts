// Original file: protos/apigee/external_callout.proto


/**
 * A fault, as in the error code steps.<policy>.<name> and its fault string.
 */
export interface Fault {
  /**
   * The last part of the error code.
   */
  'name'?: (string);
  /**
   * Read-only.
   */
  'type'?: (string);
  /**
   * Read-only, e.g. "Step".
   */
  'category'?: (string);
  /**
   * The human-readable reason (faultstring).
   */
  'faultString'?: (string);
}

/**
 * A fault, as in the error code steps.<policy>.<name> and its fault string.
 */
export interface Fault__Output {
  /**
   * The last part of the error code.
   */
  'name': (string);
  /**
   * Read-only.
   */
  'type': (string);
  /**
   * Read-only, e.g. "Step".
   */
  'category': (string);
  /**
   * The human-readable reason (faultstring).
   */
  'faultString': (string);
}
