// Original file: protos/gatehouse/v1/runtime.proto

import type { Long } from '@grpc/proto-loader';

export interface Credential {
  /**
   * hex HMAC-SHA256(credential_hash_key, consumerKey)
   */
  'keyHash'?: (string);
  /**
   * hex HMAC-SHA256(credential_hash_key, consumerSecret); empty when the Secret has none.
   */
  'secretHash'?: (string);
  /**
   * Approved | Revoked
   */
  'status'?: (string);
  /**
   * Unix milliseconds; 0 = never.
   */
  'expiresAt'?: (number | string | Long);
}

export interface Credential__Output {
  /**
   * hex HMAC-SHA256(credential_hash_key, consumerKey)
   */
  'keyHash': (string);
  /**
   * hex HMAC-SHA256(credential_hash_key, consumerSecret); empty when the Secret has none.
   */
  'secretHash': (string);
  /**
   * Approved | Revoked
   */
  'status': (string);
  /**
   * Unix milliseconds; 0 = never.
   */
  'expiresAt': (string);
}
