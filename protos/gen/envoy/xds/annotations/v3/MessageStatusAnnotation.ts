// Original file: xds/xds/annotations/v3/status.proto


export interface MessageStatusAnnotation {
  'workInProgress'?: (boolean);
}

export interface MessageStatusAnnotation__Output {
  'workInProgress': (boolean);
}
