// Original file: protos/gatehouse/v1/runtime.proto


export interface AppProduct {
  'name'?: (string);
  /**
   * Approved | Pending | Revoked
   */
  'status'?: (string);
}

export interface AppProduct__Output {
  'name': (string);
  /**
   * Approved | Pending | Revoked
   */
  'status': (string);
}
