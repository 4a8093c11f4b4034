// Original file: protos/gatehouse/v1/debug.proto

import type { DebugPoint as _gatehouse_v1_DebugPoint, DebugPoint__Output as _gatehouse_v1_DebugPoint__Output } from '../../gatehouse/v1/DebugPoint.ts';
import type { Long } from '@grpc/proto-loader';

export interface DebugTransaction {
  /**
   * x-request-id.
   */
  'requestId'?: (string);
  /**
   * W3C trace id, when the request is traced.
   */
  'traceId'?: (string);
  /**
   * Unix milliseconds when extproc received the request headers.
   */
  'startedAtMs'?: (number | string | Long);
  /**
   * From the request headers to the end of the stream, microseconds.
   */
  'durationUs'?: (number | string | Long);
  'points'?: (_gatehouse_v1_DebugPoint)[];
  /**
   * True when bodies or points were cut to fit max_transaction_bytes.
   */
  'truncated'?: (boolean);
  'proxy'?: (string);
  /**
   * The response status sent to the client.
   */
  'status'?: (number);
  /**
   * fault.name when the transaction faulted.
   */
  'faultName'?: (string);
}

export interface DebugTransaction__Output {
  /**
   * x-request-id.
   */
  'requestId': (string);
  /**
   * W3C trace id, when the request is traced.
   */
  'traceId': (string);
  /**
   * Unix milliseconds when extproc received the request headers.
   */
  'startedAtMs': (string);
  /**
   * From the request headers to the end of the stream, microseconds.
   */
  'durationUs': (string);
  'points': (_gatehouse_v1_DebugPoint__Output)[];
  /**
   * True when bodies or points were cut to fit max_transaction_bytes.
   */
  'truncated': (boolean);
  'proxy': (string);
  /**
   * The response status sent to the client.
   */
  'status': (number);
  /**
   * fault.name when the transaction faulted.
   */
  'faultName': (string);
}
