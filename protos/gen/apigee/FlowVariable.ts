// Original file: protos/apigee/external_callout.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A flow variable's value; none set means "remove".
 */
export interface FlowVariable {
  'int32'?: (number);
  'int64'?: (number | string | Long);
  'string'?: (string);
  'bool'?: (boolean);
  'double'?: (number | string);
  'value'?: "int32"|"int64"|"string"|"bool"|"double";
}

/**
 * A flow variable's value; none set means "remove".
 */
export interface FlowVariable__Output {
  'int32'?: (number);
  'int64'?: (string);
  'string'?: (string);
  'bool'?: (boolean);
  'double'?: (number);
  'value'?: "int32"|"int64"|"string"|"bool"|"double";
}
