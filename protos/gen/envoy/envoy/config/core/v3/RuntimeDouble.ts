// Original file: envoy-api/envoy/config/core/v3/base.proto


export interface RuntimeDouble {
  'defaultValue'?: (number | string);
  'runtimeKey'?: (string);
}

export interface RuntimeDouble__Output {
  'defaultValue': (number);
  'runtimeKey': (string);
}
