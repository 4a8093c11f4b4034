// Original file: protos/apigee/external_callout.proto

import type { Strings as _apigee_Strings, Strings__Output as _apigee_Strings__Output } from '../apigee/Strings.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * A policy's execution statistics. Declared by Apigee's contract, referenced by no other message.
 */
export interface Policy {
  /**
   * Read-only.
   */
  'name'?: (string);
  /**
   * Read-only.
   */
  'timeTakenNs'?: (number | string | Long);
  'properties'?: ({[key: string]: _apigee_Strings});
}

/**
 * A policy's execution statistics. Declared by Apigee's contract, referenced by no other message.
 */
export interface Policy__Output {
  /**
   * Read-only.
   */
  'name': (string);
  /**
   * Read-only.
   */
  'timeTakenNs': (string);
  'properties': ({[key: string]: _apigee_Strings__Output});
}
