// Original file: protos/apigee/external_callout.proto


/**
 * The values of one header or parameter name.
 */
export interface Strings {
  'strings'?: (string)[];
}

/**
 * The values of one header or parameter name.
 */
export interface Strings__Output {
  'strings': (string)[];
}
