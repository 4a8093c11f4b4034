// Original file: protos/gatehouse/v1/runtime.proto


/**
 * Apigee's developer entity (docs/api.md, Developer).
 */
export interface Developer {
  'namespace'?: (string);
  'name'?: (string);
  'email'?: (string);
  'firstName'?: (string);
  'lastName'?: (string);
  'userName'?: (string);
  /**
   * active | inactive
   */
  'status'?: (string);
  'attributes'?: ({[key: string]: string});
}

/**
 * Apigee's developer entity (docs/api.md, Developer).
 */
export interface Developer__Output {
  'namespace': (string);
  'name': (string);
  'email': (string);
  'firstName': (string);
  'lastName': (string);
  'userName': (string);
  /**
   * active | inactive
   */
  'status': (string);
  'attributes': ({[key: string]: string});
}
