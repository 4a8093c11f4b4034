// Original file: protos/gatehouse/v1/runtime.proto

import type { Condition as _gatehouse_v1_Condition, Condition__Output as _gatehouse_v1_Condition__Output } from '../../gatehouse/v1/Condition.ts';
import type { DebugMask as _gatehouse_v1_DebugMask, DebugMask__Output as _gatehouse_v1_DebugMask__Output } from '../../gatehouse/v1/DebugMask.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * One active debug session, as extproc needs it.
 */
export interface DebugSession {
  /**
   * The DebugSession's metadata.uid: the id captures are reported under.
   */
  'id'?: (string);
  'namespace'?: (string);
  /**
   * The DebugSession's name (what `gatehouse trace` prints).
   */
  'name'?: (string);
  /**
   * The ApiProxy (in namespace) whose transactions are captured.
   */
  'proxy'?: (string);
  /**
   * Absent: every transaction of the proxy matches.
   */
  'filter'?: (_gatehouse_v1_Condition | null);
  /**
   * How many transactions to capture in all (the operator ends the session when it has them; an
   * extproc replica stops at this many of its own).
   */
  'count'?: (number);
  /**
   * Unix milliseconds; extproc captures nothing after it.
   */
  'expiresAtMs'?: (number | string | Long);
  /**
   * The DataPlane's and the proxy's masking rules, merged. Credentials are masked whatever this says.
   */
  'mask'?: (_gatehouse_v1_DebugMask | null);
  /**
   * The bound on one captured transaction, serialized (bodies are truncated first).
   */
  'maxTransactionBytes'?: (number);
}

/**
 * One active debug session, as extproc needs it.
 */
export interface DebugSession__Output {
  /**
   * The DebugSession's metadata.uid: the id captures are reported under.
   */
  'id': (string);
  'namespace': (string);
  /**
   * The DebugSession's name (what `gatehouse trace` prints).
   */
  'name': (string);
  /**
   * The ApiProxy (in namespace) whose transactions are captured.
   */
  'proxy': (string);
  /**
   * Absent: every transaction of the proxy matches.
   */
  'filter': (_gatehouse_v1_Condition__Output | null);
  /**
   * How many transactions to capture in all (the operator ends the session when it has them; an
   * extproc replica stops at this many of its own).
   */
  'count': (number);
  /**
   * Unix milliseconds; extproc captures nothing after it.
   */
  'expiresAtMs': (string);
  /**
   * The DataPlane's and the proxy's masking rules, merged. Credentials are masked whatever this says.
   */
  'mask': (_gatehouse_v1_DebugMask__Output | null);
  /**
   * The bound on one captured transaction, serialized (bodies are truncated first).
   */
  'maxTransactionBytes': (number);
}
