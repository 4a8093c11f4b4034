// Original file: envoy-api/envoy/type/v3/semantic_version.proto


export interface SemanticVersion {
  'majorNumber'?: (number);
  'minorNumber'?: (number);
  'patch'?: (number);
}

export interface SemanticVersion__Output {
  'majorNumber': (number);
  'minorNumber': (number);
  'patch': (number);
}
