// Original file: envoy-api/envoy/config/core/v3/address.proto


export interface EnvoyInternalAddress {
  'serverListenerName'?: (string);
  'endpointId'?: (string);
  'addressNameSpecifier'?: "serverListenerName";
}

export interface EnvoyInternalAddress__Output {
  'serverListenerName'?: (string);
  'endpointId': (string);
  'addressNameSpecifier'?: "serverListenerName";
}
