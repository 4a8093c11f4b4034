// Original file: protos/gatehouse/v1/runtime.proto


/**
 * JSON lines appended to a file of extproc's.
 */
export interface AnalyticsFileSink {
  'path'?: (string);
}

/**
 * JSON lines appended to a file of extproc's.
 */
export interface AnalyticsFileSink__Output {
  'path': (string);
}
