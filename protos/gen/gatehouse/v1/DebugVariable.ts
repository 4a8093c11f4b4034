// Original file: protos/gatehouse/v1/debug.proto


export interface DebugVariable {
  'name'?: (string);
  'value'?: (string);
}

export interface DebugVariable__Output {
  'name': (string);
  'value': (string);
}
