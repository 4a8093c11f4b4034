// Original file: envoy-api/envoy/service/ext_proc/v3/external_processor.proto


export interface BodyMutation {
  'body'?: (Buffer | Uint8Array | string);
  'clearBody'?: (boolean);
  'mutation'?: "body"|"clearBody";
}

export interface BodyMutation__Output {
  'body'?: (Buffer);
  'clearBody'?: (boolean);
  'mutation'?: "body"|"clearBody";
}
