// DecodeJWS (Apigee's DecodeJWS): reads a JWS's header (and payload, when attached) into
// jws.{policy}.* without checking the signature (docs/policies.md#decodejws).
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { sourceSchema } from './jwt-common.ts';

export interface DecodeJwsConfig {
  source?: string;
}

export const decodeJWS: PolicyTypeSpec = {
  type: 'DecodeJWS',
  member: 'decodeJWS',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'DecodeJWS: decodes a JWS without verifying it and sets jws.{policy}.decoded.header.* variables. Apigee: <DecodeJWS>.',
    properties: { source: sourceSchema },
  },
  needsBody: (config, phase) => readsBodyVariable(phase, { names: [(config as DecodeJwsConfig).source] }),
};
