// Original file: protos/gatehouse/v1/debug.proto

import type { DebugTransaction as _gatehouse_v1_DebugTransaction, DebugTransaction__Output as _gatehouse_v1_DebugTransaction__Output } from '../../gatehouse/v1/DebugTransaction.ts';

export interface DebugCaptureReport {
  /**
   * extproc's xDS node id.
   */
  'nodeId'?: (string);
  /**
   * DebugSession.id from the runtime snapshot.
   */
  'sessionId'?: (string);
  'transactions'?: (_gatehouse_v1_DebugTransaction)[];
}

export interface DebugCaptureReport__Output {
  /**
   * extproc's xDS node id.
   */
  'nodeId': (string);
  /**
   * DebugSession.id from the runtime snapshot.
   */
  'sessionId': (string);
  'transactions': (_gatehouse_v1_DebugTransaction__Output)[];
}
