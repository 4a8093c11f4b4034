// Original file: protos/gatehouse/v1/runtime.proto


export interface RedisSettings {
  /**
   * Standalone | Sentinel | Cluster
   */
  'mode'?: (string);
  /**
   * LocalFallback | FailClosed
   */
  'onUnavailable'?: (string);
}

export interface RedisSettings__Output {
  /**
   * Standalone | Sentinel | Cluster
   */
  'mode': (string);
  /**
   * LocalFallback | FailClosed
   */
  'onUnavailable': (string);
}
