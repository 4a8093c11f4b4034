// Original file: protos/gatehouse/v1/runtime.proto


/**
 * Batches POSTed as a JSON array.
 */
export interface AnalyticsHttpSink {
  'url'?: (string);
  /**
   * Header name to the policy_secrets id of its value.
   */
  'headerSecrets'?: ({[key: string]: string});
}

/**
 * Batches POSTed as a JSON array.
 */
export interface AnalyticsHttpSink__Output {
  'url': (string);
  /**
   * Header name to the policy_secrets id of its value.
   */
  'headerSecrets': ({[key: string]: string});
}
