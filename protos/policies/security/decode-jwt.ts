// DecodeJWT (Apigee's DecodeJWT): reads a JWT's header and claims into jwt.{policy}.* without checking
// its signature (docs/policies.md#decodejwt): for choosing a key before VerifyJWT, never for trust.
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { sourceSchema } from './jwt-common.ts';

export interface DecodeJwtConfig {
  source?: string;
}

export const decodeJWT: PolicyTypeSpec = {
  type: 'DecodeJWT',
  member: 'decodeJWT',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'DecodeJWT: decodes a JWT without verifying it and sets jwt.{policy}.decoded.* variables. Apigee: <DecodeJWT>.',
    properties: { source: sourceSchema },
  },
  needsBody: (config, phase) => readsBodyVariable(phase, { names: [(config as DecodeJwtConfig).source] }),
};
