// Original file: protos/gatehouse/v1/runtime.proto


export interface KeyValueMapValues {
  'values'?: (string)[];
}

export interface KeyValueMapValues__Output {
  'values': (string)[];
}
