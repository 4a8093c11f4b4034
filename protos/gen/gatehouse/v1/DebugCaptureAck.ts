// Original file: protos/gatehouse/v1/debug.proto


export interface DebugCaptureAck {
  /**
   * How many transactions the session still wants (0: it is complete or gone; stop capturing).
   */
  'remaining'?: (number);
}

export interface DebugCaptureAck__Output {
  /**
   * How many transactions the session still wants (0: it is complete or gone; stop capturing).
   */
  'remaining': (number);
}
