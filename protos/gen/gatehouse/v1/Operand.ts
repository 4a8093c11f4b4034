// Original file: protos/gatehouse/v1/runtime.proto


export interface Operand {
  'variable'?: (string);
  'string'?: (string);
  'number'?: (number | string);
  'boolean'?: (boolean);
  'null'?: (boolean);
  'kind'?: "variable"|"string"|"number"|"boolean"|"null";
}

export interface Operand__Output {
  'variable'?: (string);
  'string'?: (string);
  'number'?: (number);
  'boolean'?: (boolean);
  'null'?: (boolean);
  'kind'?: "variable"|"string"|"number"|"boolean"|"null";
}
