// VerifyJWT (Apigee's VerifyJWT): checks a signed JWT's signature against an allow-list of algorithms
// and keys from Secrets, an inline JWKS, a JWKS URL or an OpenID Provider's discovery document, then
// its time claims (with TimeAllowance), issuer, audience, subject, id, crit and additional claims;
// sets jwt.{policy}.* (docs/policies.md#verifyjwt).
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type RefOr } from '../schema.ts';
import {
  algorithmsSchema,
  claimProblems,
  claimsSchema,
  knownHeadersSchema,
  publicKeySchema,
  secretKeySchema,
  sourceSchema,
  timeValue,
  verifyKeyProblems,
  type ClaimConfig,
  type JwtAlgorithm,
  type PublicKeyConfig,
  type SecretKeyConfig,
} from './jwt-common.ts';

export interface VerifyJwtConfig {
  algorithms: JwtAlgorithm[];
  source?: string;
  publicKey?: PublicKeyConfig;
  secretKey?: SecretKeyConfig;
  issuer?: RefOr<string>;
  /** Any one of these (comma-separated) must be in the token's aud. */
  audience?: RefOr<string>;
  subject?: RefOr<string>;
  /** The token's jti must equal it. */
  id?: RefOr<string>;
  timeAllowance?: RefOr<string>;
  additionalClaims?: ClaimConfig[];
  additionalHeaders?: ClaimConfig[];
  knownHeaders?: string[];
  ignoreCriticalHeaders?: boolean;
  ignoreIssuedAt?: boolean;
  ignoreUnresolvedVariables?: boolean;
  /** Only Signed: encrypted JWTs (JWE) are not supported (docs/policies.md#verifyjwt). */
  type?: 'Signed';
}

const text = (description: string) => refOr({ type: 'string', minLength: 1, maxLength: 1024, description });

export const verifyJwtProperties = {
  algorithms: algorithmsSchema,
  source: sourceSchema,
  publicKey: publicKeySchema,
  secretKey: secretKeySchema,
  additionalHeaders: claimsSchema(
    'Headers the token must carry with these values (InvalidClaim otherwise). Apigee: <AdditionalHeaders>.',
  ),
  knownHeaders: knownHeadersSchema,
  ignoreCriticalHeaders: {
    type: 'boolean',
    description: 'true: a crit header naming unknown headers is accepted. Apigee: <IgnoreCriticalHeaders>.',
  },
  ignoreUnresolvedVariables: {
    type: 'boolean',
    description:
      'true: a ref that is unset counts as absent instead of failing with FailedToResolveVariable. Apigee: <IgnoreUnresolvedVariables>.',
  },
} as const;

export const verifyJWT: PolicyTypeSpec = {
  type: 'VerifyJWT',
  member: 'verifyJWT',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'VerifyJWT: verifies a signed JWT (signature, algorithm allow-list, exp/nbf/iat, issuer, audience, subject, claims) and sets jwt.{policy}.* variables. Apigee: <VerifyJWT>.',
    required: ['algorithms'],
    properties: {
      ...verifyJwtProperties,
      issuer: text('The iss the token must carry. Apigee: <Issuer>.'),
      audience: text('Audiences (comma-separated): the token aud must contain one of them. Apigee: <Audience>.'),
      subject: text('The sub the token must carry. Apigee: <Subject>.'),
      id: text('The jti the token must carry. Apigee: <Id>.'),
      timeAllowance: timeValue(
        'Clock skew accepted on exp, nbf and iat ("30s", "2m"); default 0. Apigee: <TimeAllowance>.',
      ),
      additionalClaims: claimsSchema(
        'Claims the token must carry with these values (InvalidClaim otherwise). Apigee: <AdditionalClaims>.',
      ),
      ignoreIssuedAt: {
        type: 'boolean',
        description: 'true: an iat in the future is accepted. Apigee: <IgnoreIssuedAt>.',
      },
      type: {
        type: 'string',
        enum: ['Signed'],
        description: 'Signed (the default); encrypted JWTs are not supported. Apigee: <Type>.',
      },
    },
  },
  needsBody: (config, phase) => readsBodyVariable(phase, { names: [(config as VerifyJwtConfig).source] }),
  validate: (config) => {
    const c = config as VerifyJwtConfig;
    return [
      ...verifyKeyProblems(c.algorithms, c.publicKey, c.secretKey),
      ...claimProblems('additionalClaims', c.additionalClaims),
      ...claimProblems('additionalHeaders', c.additionalHeaders),
    ];
  },
};
