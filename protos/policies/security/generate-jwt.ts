// GenerateJWT (Apigee's GenerateJWT): signs a JWT with a key from a Secret (HS* secret, or an RS*,
// PS*, ES*, EdDSA private key) carrying iss, sub, aud, jti, iat, exp, nbf and additional claims and
// headers, into a variable (docs/policies.md#generatejwt).
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type RefOr } from '../schema.ts';
import {
  algorithmSchema,
  claimProblems,
  claimsSchema,
  privateKeySchema,
  secretKeySchema,
  signKeyProblems,
  timeValue,
  type ClaimConfig,
  type JwtAlgorithm,
  type PrivateKeyConfig,
  type SecretKeyConfig,
} from './jwt-common.ts';

export interface GenerateJwtConfig {
  algorithm: JwtAlgorithm;
  privateKey?: PrivateKeyConfig;
  secretKey?: SecretKeyConfig;
  issuer?: RefOr<string>;
  /** Comma-separated: several become an array. */
  audience?: RefOr<string>;
  subject?: RefOr<string>;
  /** A jti: the literal or ref's value; `generate: true` for a random UUID. */
  id?: { value?: RefOr<string>; generate?: boolean };
  expiresIn?: RefOr<string>;
  notBefore?: RefOr<string>;
  additionalClaims?: ClaimConfig[];
  additionalHeaders?: ClaimConfig[];
  /** Header names to list in crit (each must be an additional header). */
  criticalHeaders?: string[];
  outputVariable: string;
  ignoreUnresolvedVariables?: boolean;
}

const text = (description: string) => refOr({ type: 'string', minLength: 1, maxLength: 1024, description });

export const generateJWT: PolicyTypeSpec = {
  type: 'GenerateJWT',
  member: 'generateJWT',
  group: 'security',
  schema: {
    type: 'object',
    description: 'GenerateJWT: signs a JWT with the given claims into a variable. Apigee: <GenerateJWT>.',
    required: ['algorithm', 'outputVariable'],
    properties: {
      algorithm: algorithmSchema,
      privateKey: privateKeySchema,
      secretKey: secretKeySchema,
      issuer: text('iss. Apigee: <Issuer>.'),
      audience: text('aud; comma-separated values become an array. Apigee: <Audience>.'),
      subject: text('sub. Apigee: <Subject>.'),
      id: {
        type: 'object',
        description: 'jti: value, or generate: true for a random UUID. Apigee: <Id>.',
        properties: {
          value: text('The jti.'),
          generate: { type: 'boolean', description: 'true: a random UUID (Apigee: an empty <Id/>).' },
        },
      },
      expiresIn: timeValue('Lifetime: exp is iat plus this ("1h", "30m"). Apigee: <ExpiresIn>.'),
      notBefore: timeValue('nbf is iat plus this ("0s", "5m"). Apigee: <NotBefore>.'),
      additionalClaims: claimsSchema('More claims. Apigee: <AdditionalClaims>.'),
      additionalHeaders: claimsSchema('More headers (alg and typ are set by the policy). Apigee: <AdditionalHeaders>.'),
      criticalHeaders: {
        type: 'array',
        maxItems: 32,
        items: { type: 'string', minLength: 1, maxLength: 256, description: 'A header name.' },
        description: 'Additional headers to list in crit. Apigee: <CriticalHeaders>.',
      },
      outputVariable: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description: 'The variable that receives the token. Apigee: <OutputVariable>.',
      },
      ignoreUnresolvedVariables: {
        type: 'boolean',
        description: 'true: an unset ref leaves its claim out instead of failing. Apigee: <IgnoreUnresolvedVariables>.',
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as GenerateJwtConfig;
    return readsBodyVariable(phase, {
      names: [...(c.additionalClaims ?? []), ...(c.additionalHeaders ?? [])].map((claim) => claim.ref),
    });
  },
  validate: (config) => {
    const c = config as GenerateJwtConfig;
    const problems = [
      ...signKeyProblems(c.algorithm, c.privateKey, c.secretKey),
      ...claimProblems('additionalClaims', c.additionalClaims),
      ...claimProblems('additionalHeaders', c.additionalHeaders),
    ];
    const headers = new Set((c.additionalHeaders ?? []).map((h) => h.name));
    (c.criticalHeaders ?? []).forEach((name, i) => {
      if (!headers.has(name))
        problems.push({ path: `criticalHeaders[${i}]`, message: `${name} is not an additional header` });
    });
    if (c.id && (c.id.value === undefined) === (c.id.generate !== true))
      problems.push({ path: 'id', message: 'set value or generate: true' });
    return problems;
  },
};
