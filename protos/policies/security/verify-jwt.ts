// VerifyJWT (Apigee's VerifyJWT): checks a signed JWT's signature against an allow-list of algorithms
// and keys from Secrets, an inline JWKS, a JWKS URL or an OpenID Provider's discovery document, then
// its time claims (with TimeAllowance), issuer, audience, subject, id, crit and additional claims;
// sets jwt.{policy}.* (docs/policies.md#verifyjwt).
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type ConfigProblem, type RefOr } from '../schema.ts';
import {
  algorithmsSchema,
  claimProblems,
  claimsSchema,
  jweContentAlgorithms,
  jweKeyAlgorithms,
  knownHeadersSchema,
  literalSecret,
  privateKeySchema,
  publicKeySchema,
  secretKeySchema,
  sourceSchema,
  timeValue,
  verifyKeyProblems,
  type ClaimConfig,
  type JweContentAlgorithm,
  type JweKeyAlgorithm,
  type JwtAlgorithm,
  type PrivateKeyConfig,
  type PublicKeyConfig,
  type SecretKeyConfig,
} from './jwt-common.ts';

export interface VerifyJwtConfig {
  /** Signed: the signature algorithms allowed. */
  algorithms?: JwtAlgorithm[];
  /** Encrypted: the key management and content encryption algorithms allowed. Apigee: <Algorithms><Key>, <Content>. */
  encryptionAlgorithms?: { key: JweKeyAlgorithm[]; content: JweContentAlgorithm[] };
  /** Encrypted with RSA-OAEP-256: the RSA private key that decrypts. Apigee: <PrivateKey>. */
  privateKey?: PrivateKeyConfig;
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
  /** Signed (JWS, the default) or Encrypted (JWE). Apigee: <Type>. */
  type?: 'Signed' | 'Encrypted';
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

function signedProblems(c: VerifyJwtConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (c.encryptionAlgorithms) problems.push({ path: 'encryptionAlgorithms', message: 'needs type: Encrypted' });
  if (c.privateKey)
    problems.push({ path: 'privateKey', message: 'a signed JWT is verified with publicKey or secretKey' });
  if (!c.algorithms) return [...problems, { path: 'algorithms', message: 'a signed JWT needs algorithms' }];
  return [...problems, ...verifyKeyProblems(c.algorithms, c.publicKey, c.secretKey)];
}

/** A JWE: one family of key algorithms and its key (RSA: privateKey; AES key wrap: secretKey), never a literal. */
export function encryptedProblems(
  c: Pick<VerifyJwtConfig, 'algorithms' | 'encryptionAlgorithms' | 'privateKey' | 'secretKey' | 'publicKey'>,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (c.algorithms) problems.push({ path: 'algorithms', message: 'an encrypted JWT takes encryptionAlgorithms' });
  if (!c.encryptionAlgorithms)
    return [...problems, { path: 'encryptionAlgorithms', message: 'type Encrypted needs encryptionAlgorithms' }];
  const keys = c.encryptionAlgorithms.key;
  const rsa = keys.filter((k) => k === 'RSA-OAEP-256');
  if (rsa.length > 0 && rsa.length < keys.length)
    problems.push({
      path: 'encryptionAlgorithms.key',
      message: 'mixes RSA-OAEP-256 and AES key wrap: one key element serves one family',
    });
  if (
    new Set(keys).size !== keys.length ||
    new Set(c.encryptionAlgorithms.content).size !== c.encryptionAlgorithms.content.length
  )
    problems.push({ path: 'encryptionAlgorithms', message: 'lists an algorithm twice' });
  if (c.publicKey)
    problems.push({ path: 'publicKey', message: 'an encrypted JWT is decrypted with privateKey or secretKey' });
  if (rsa.length > 0) {
    if (!c.privateKey) problems.push({ path: 'privateKey', message: 'RSA-OAEP-256 needs privateKey' });
    if (c.secretKey) problems.push({ path: 'secretKey', message: 'RSA-OAEP-256 takes privateKey, not secretKey' });
  } else {
    if (!c.secretKey) problems.push({ path: 'secretKey', message: 'AES key wrap needs secretKey' });
    if (c.privateKey) problems.push({ path: 'privateKey', message: 'AES key wrap takes secretKey, not privateKey' });
  }
  for (const [path, value] of [
    ['secretKey.value', c.secretKey?.value],
    ['privateKey.value', c.privateKey?.value],
    ['privateKey.password', c.privateKey?.password],
  ] as const)
    if (literalSecret(value))
      problems.push({
        path,
        message:
          'a literal secret would stand in the snapshot in clear: use {secretRef: {name, key}} or {ref: VARIABLE}',
      });
  return problems;
}

export const verifyJWT: PolicyTypeSpec = {
  type: 'VerifyJWT',
  member: 'verifyJWT',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'VerifyJWT: verifies a signed JWT (signature, algorithm allow-list) or decrypts an encrypted one (key and content algorithm allow-lists), then exp/nbf/iat, issuer, audience, subject, claims; sets jwt.{policy}.* variables. Apigee: <VerifyJWT>.',
    properties: {
      ...verifyJwtProperties,
      encryptionAlgorithms: {
        type: 'object',
        required: ['key', 'content'],
        description:
          'type Encrypted: the algorithms a JWE may use, each an allow-list; dir and RSA1_5 are never accepted. Apigee: <Algorithms><Key>, <Content>.',
        properties: {
          key: {
            type: 'array',
            minItems: 1,
            maxItems: jweKeyAlgorithms.length,
            items: { type: 'string', enum: jweKeyAlgorithms, description: 'A key management algorithm.' },
            description:
              'Key management: RSA-OAEP-256 (privateKey) or A128KW/A192KW/A256KW (secretKey). Apigee: <Key>.',
          },
          content: {
            type: 'array',
            minItems: 1,
            maxItems: jweContentAlgorithms.length,
            items: { type: 'string', enum: jweContentAlgorithms, description: 'A content encryption algorithm.' },
            description: 'Content encryption. Apigee: <Content>.',
          },
        },
      },
      privateKey: {
        ...privateKeySchema,
        description: 'type Encrypted with RSA-OAEP-256: the RSA private key that decrypts. Apigee: <PrivateKey>.',
      },
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
        enum: ['Signed', 'Encrypted'],
        description:
          'Signed (a JWS, the default: algorithms) or Encrypted (a JWE: encryptionAlgorithms). Apigee: <Type>.',
      },
    },
  },
  needsBody: (config, phase) => readsBodyVariable(phase, { names: [(config as VerifyJwtConfig).source] }),
  validate: (config) => {
    const c = config as VerifyJwtConfig;
    return [
      ...(c.type === 'Encrypted' ? encryptedProblems(c) : signedProblems(c)),
      ...claimProblems('additionalClaims', c.additionalClaims),
      ...claimProblems('additionalHeaders', c.additionalHeaders),
    ];
  },
};
