// GenerateJWT (Apigee's GenerateJWT): signs a JWT with a key from a Secret (HS* secret, or an RS*,
// PS*, ES*, EdDSA private key) carrying iss, sub, aud, jti, iat, exp, nbf and additional claims and
// headers, into a variable (docs/policies.md#generatejwt).
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type ConfigProblem, type RefOr } from '../schema.ts';
import {
  algorithmSchema,
  claimProblems,
  claimsSchema,
  privateKeySchema,
  secretKeySchema,
  signKeyProblems,
  timeValue,
  jweContentAlgorithms,
  jweKeyAlgorithms,
  literalSecret,
  publicKeySchema,
  type ClaimConfig,
  type JweContentAlgorithm,
  type JweKeyAlgorithm,
  type PublicKeyConfig,
  type JwtAlgorithm,
  type PrivateKeyConfig,
  type SecretKeyConfig,
} from './jwt-common.ts';

export interface GenerateJwtConfig {
  /** Signed: the signature algorithm. Apigee: <Algorithm>. */
  algorithm?: JwtAlgorithm;
  /** Signed (default) or Encrypted. Apigee: <Type>. */
  type?: 'Signed' | 'Encrypted';
  /** Encrypted: the key management and content encryption algorithms. Apigee: <Algorithms><Key>, <Content>. */
  encryptionAlgorithms?: { key: JweKeyAlgorithm; content: JweContentAlgorithm };
  /** Encrypted with RSA-OAEP-256: the recipient's public key (value or certificate). Apigee: <PublicKey>. */
  publicKey?: PublicKeyConfig;
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

function signProblems(c: GenerateJwtConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (c.encryptionAlgorithms) problems.push({ path: 'encryptionAlgorithms', message: 'needs type: Encrypted' });
  if (c.publicKey) problems.push({ path: 'publicKey', message: 'a signed JWT is signed with privateKey or secretKey' });
  if (!c.algorithm) return [...problems, { path: 'algorithm', message: 'a signed JWT needs algorithm' }];
  return [...problems, ...signKeyProblems(c.algorithm, c.privateKey, c.secretKey)];
}

function encryptProblems(c: GenerateJwtConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (c.algorithm) problems.push({ path: 'algorithm', message: 'an encrypted JWT takes encryptionAlgorithms' });
  if (c.privateKey)
    problems.push({ path: 'privateKey', message: 'an encrypted JWT is encrypted to publicKey or secretKey' });
  if (c.criticalHeaders) problems.push({ path: 'criticalHeaders', message: 'not for an encrypted JWT' });
  if (!c.encryptionAlgorithms)
    return [...problems, { path: 'encryptionAlgorithms', message: 'type Encrypted needs encryptionAlgorithms' }];
  if (c.encryptionAlgorithms.key === 'RSA-OAEP-256') {
    if (!c.publicKey?.value && !c.publicKey?.certificate)
      problems.push({ path: 'publicKey', message: 'RSA-OAEP-256 needs publicKey with value or certificate' });
    else if (c.publicKey.jwks ?? c.publicKey.jwksUri ?? c.publicKey.discoveryUri)
      problems.push({ path: 'publicKey', message: 'encrypting takes publicKey value or certificate only' });
    if (c.secretKey) problems.push({ path: 'secretKey', message: 'RSA-OAEP-256 takes publicKey, not secretKey' });
  } else {
    if (!c.secretKey) problems.push({ path: 'secretKey', message: 'AES key wrap needs secretKey' });
    if (c.publicKey) problems.push({ path: 'publicKey', message: 'AES key wrap takes secretKey, not publicKey' });
    if (literalSecret(c.secretKey?.value))
      problems.push({
        path: 'secretKey.value',
        message:
          'a literal secret would stand in the snapshot in clear: use {secretRef: {name, key}} or {ref: VARIABLE}',
      });
  }
  return problems;
}

export const generateJWT: PolicyTypeSpec = {
  type: 'GenerateJWT',
  member: 'generateJWT',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'GenerateJWT: signs (or, type Encrypted, encrypts) a JWT with the given claims into a variable. Apigee: <GenerateJWT>.',
    required: ['outputVariable'],
    properties: {
      algorithm: algorithmSchema,
      type: {
        type: 'string',
        enum: ['Signed', 'Encrypted'],
        description:
          'Signed (a JWS, the default: algorithm) or Encrypted (a JWE: encryptionAlgorithms). Apigee: <Type>.',
      },
      encryptionAlgorithms: {
        type: 'object',
        required: ['key', 'content'],
        description: 'type Encrypted: how the JWE is encrypted. Apigee: <Algorithms>.',
        properties: {
          key: {
            type: 'string',
            enum: jweKeyAlgorithms,
            description: 'Key management: RSA-OAEP-256 (publicKey) or A128KW/A192KW/A256KW (secretKey). Apigee: <Key>.',
          },
          content: {
            type: 'string',
            enum: jweContentAlgorithms,
            description: 'Content encryption. Apigee: <Content>.',
          },
        },
      },
      publicKey: {
        ...publicKeySchema,
        description:
          'type Encrypted with RSA-OAEP-256: the recipient RSA public key, value or certificate. Apigee: <PublicKey>.',
      },
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
      ...(c.type === 'Encrypted' ? encryptProblems(c) : signProblems(c)),
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
