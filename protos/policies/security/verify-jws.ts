// VerifyJWS (Apigee's VerifyJWS): checks a JWS's signature (compact, or detached with the content in a
// variable; RFC 7797 b64=false) against an allow-list of algorithms and keys, its crit and additional
// headers; sets jws.{policy}.* (docs/policies.md#verifyjws).
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import {
  claimProblems,
  verifyKeyProblems,
  type ClaimConfig,
  type JwtAlgorithm,
  type PublicKeyConfig,
  type SecretKeyConfig,
} from './jwt-common.ts';
import { verifyJwtProperties } from './verify-jwt.ts';

export interface VerifyJwsConfig {
  algorithms: JwtAlgorithm[];
  source?: string;
  /** The variable holding the payload of a detached JWS (header..signature). */
  detachedContent?: string;
  publicKey?: PublicKeyConfig;
  secretKey?: SecretKeyConfig;
  additionalHeaders?: ClaimConfig[];
  knownHeaders?: string[];
  ignoreCriticalHeaders?: boolean;
  ignoreUnresolvedVariables?: boolean;
}

export const verifyJWS: PolicyTypeSpec = {
  type: 'VerifyJWS',
  member: 'verifyJWS',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'VerifyJWS: verifies a JWS (compact or detached) against an algorithm allow-list and keys, and sets jws.{policy}.* variables. Apigee: <VerifyJWS>.',
    required: ['algorithms'],
    properties: {
      ...verifyJwtProperties,
      detachedContent: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description:
          'The variable holding the payload of a detached JWS (header..signature), e.g. request.content. Apigee: <DetachedContent>.',
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as VerifyJwsConfig;
    return readsBodyVariable(phase, { names: [c.source, c.detachedContent] });
  },
  validate: (config) => {
    const c = config as VerifyJwsConfig;
    return [
      ...verifyKeyProblems(c.algorithms, c.publicKey, c.secretKey),
      ...claimProblems('additionalHeaders', c.additionalHeaders),
    ];
  },
};
