// Original file: protos/gatehouse/v1/runtime.proto


export interface Policy {
  'name'?: (string);
  /**
   * A type from DESIGN 4, e.g. "VerifyAPIKey".
   */
  'type'?: (string);
  'continueOnError'?: (boolean);
  'enabled'?: (boolean);
  /**
   * The type's configuration member, validated by the compiler, as canonical JSON (sorted keys).
   */
  'configJson'?: (string);
}

export interface Policy__Output {
  'name': (string);
  /**
   * A type from DESIGN 4, e.g. "VerifyAPIKey".
   */
  'type': (string);
  'continueOnError': (boolean);
  'enabled': (boolean);
  /**
   * The type's configuration member, validated by the compiler, as canonical JSON (sorted keys).
   */
  'configJson': (string);
}
