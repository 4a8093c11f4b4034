// What the six JWT and JWS policies share (docs/policies.md#verifyjwt): the algorithm allow-list, the
// key elements (PublicKey, SecretKey, PrivateKey), claims and headers to add or require, Apigee's time
// values ("30s", "1h"), and the checks of key URLs (HTTPS, never a link-local or metadata address).
import { refusedTargetClass } from '../target-address.ts';
import { refOr, refOrSecret, type ConfigProblem, type JSONSchema, type RefOr, type RefOrSecret } from '../schema.ts';

/** `none` is never one of them: an unsigned token is refused whatever the config says. */
export const jwtAlgorithms = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type JwtAlgorithm = (typeof jwtAlgorithms)[number];

/**
 * Encrypted JWTs (JWE, RFC 7516): the key management algorithms Gatehouse takes (Apigee's <Key>), a
 * subset of Apigee's: RSA-OAEP-256 with an RSA key pair, AES key wrap with a secret. `dir` (the
 * content key is the configured secret itself), RSA1_5 (Bleichenbacher-style padding oracles; not
 * Apigee's either), ECDH-ES* and PBES2* are not values, so a token using one is always refused.
 */
export const jweKeyAlgorithms = ['RSA-OAEP-256', 'A128KW', 'A192KW', 'A256KW'] as const;
export type JweKeyAlgorithm = (typeof jweKeyAlgorithms)[number];
/** Content encryption (Apigee's <Content>, RFC 7518 5.1). */
export const jweContentAlgorithms = [
  'A128CBC-HS256',
  'A192CBC-HS384',
  'A256CBC-HS512',
  'A128GCM',
  'A192GCM',
  'A256GCM',
] as const;
export type JweContentAlgorithm = (typeof jweContentAlgorithms)[number];
/** The AES key wrap secret's size in bytes (RFC 7518 4.4). */
export const KEY_WRAP_BYTES: Record<string, number> = { A128KW: 16, A192KW: 24, A256KW: 32 };

/** HS* take a SecretKey, the others a PublicKey (verify) or PrivateKey (sign). */
export const isHmac = (alg: string): boolean => alg.startsWith('HS');

export interface PublicKeyConfig {
  /** A PEM public key (SPKI) or an X.509 certificate PEM. Apigee: <PublicKey><Value>. */
  value?: RefOrSecret<string>;
  /** An X.509 certificate PEM. Apigee: <PublicKey><Certificate>. */
  certificate?: RefOrSecret<string>;
  /** A JWKS document, inline. Apigee: <PublicKey><JWKS>. */
  jwks?: RefOrSecret<string>;
  /** A JWKS URL, fetched and cached by extproc. Apigee: <PublicKey><JWKS uri>. */
  jwksUri?: string;
  /** An OpenID Provider's discovery document (…/.well-known/openid-configuration): its jwks_uri is used. Gatehouse's. */
  discoveryUri?: string;
}

export type SecretEncoding = 'utf8' | 'base16' | 'hex' | 'base64' | 'base64url';

export interface SecretKeyConfig {
  value: RefOrSecret<string>;
  /** How the value's text becomes key bytes; default utf8. Apigee: <SecretKey encoding>. */
  encoding?: SecretEncoding;
  /** The `kid` header a generated token carries. Apigee: <SecretKey><Id>. */
  id?: string;
}

export interface PrivateKeyConfig {
  /** PKCS#8 or PKCS#1/SEC1 PEM, encrypted when `password` is set. */
  value: RefOrSecret<string>;
  password?: RefOrSecret<string>;
  /** The `kid` header a generated token carries. */
  id?: string;
}

export type ClaimType = 'string' | 'number' | 'boolean' | 'map';

/** One <Claim> (or <Header>): a literal or a variable, typed, optionally an array. */
export interface ClaimConfig {
  name: string;
  /** Literal text; an array's items separated by commas. */
  value?: string;
  /** A flow variable holding the value. */
  ref?: string;
  /** Default string. `map` takes a JSON object (from a ref). */
  type?: ClaimType;
  array?: boolean;
}

/** Apigee's time values: an integer and an optional unit (ms, s, m, h, d, w); seconds without one. */
export const timeValuePattern = '^[0-9]{1,10}(ms|s|m|h|d|w)?$';

const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of a time value ("30s", "1h", "120"); undefined when it does not parse. */
export function parseTimeValue(text: string): number | undefined {
  const match = /^([0-9]{1,10})(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * unitMs[match[2] ?? 's']!;
}

export const timeValue = (description: string): JSONSchema =>
  refOr({ type: 'string', pattern: timeValuePattern, maxLength: 16, description });

const pem = (description: string) => refOrSecret({ type: 'string', maxLength: 65_536, description });

const url = (description: string): JSONSchema => ({ type: 'string', minLength: 9, maxLength: 2048, description });

export const algorithmsSchema: JSONSchema = {
  type: 'array',
  minItems: 1,
  maxItems: jwtAlgorithms.length,
  items: { type: 'string', enum: jwtAlgorithms, description: 'An algorithm.' },
  description:
    "The algorithms a token may use, all HMAC (HS*) or all public-key (RS*, PS*, ES*, EdDSA); `none` is never accepted. Apigee: <Algorithms> (or <Algorithm>'s comma list).",
};

export const algorithmSchema: JSONSchema = {
  type: 'string',
  enum: jwtAlgorithms,
  description: 'The signing algorithm. Apigee: <Algorithm>.',
};

export const publicKeySchema: JSONSchema = {
  type: 'object',
  description:
    'Where the verification keys come from: exactly one of value, certificate, jwks, jwksUri, discoveryUri. Apigee: <PublicKey>.',
  properties: {
    value: pem('A PEM public key (-----BEGIN PUBLIC KEY-----) or certificate. Apigee: <Value>.'),
    certificate: pem('An X.509 certificate PEM. Apigee: <Certificate>.'),
    jwks: pem('A JWKS document (JSON), inline. Apigee: <JWKS>.'),
    jwksUri: url(
      'An https URL serving a JWKS; fetched by extproc and cached (Cache-Control max-age, bounded), refetched once on an unknown kid. Apigee: <JWKS uri>.',
    ),
    discoveryUri: url(
      "An OpenID Provider's discovery document (https://issuer/.well-known/openid-configuration); its jwks_uri is fetched as jwksUri is. Gatehouse's.",
    ),
  },
};

export const secretKeySchema: JSONSchema = {
  type: 'object',
  required: ['value'],
  description: 'The HMAC key (HS*). Apigee: <SecretKey>.',
  properties: {
    value: refOrSecret({
      type: 'string',
      maxLength: 8192,
      description: 'The key text, never a literal (it would stand in the snapshot in clear). Apigee: <Value ref>.',
    }),
    encoding: {
      type: 'string',
      enum: ['utf8', 'base16', 'hex', 'base64', 'base64url'],
      description: 'How the text becomes key bytes; default utf8. Apigee: <SecretKey encoding>.',
    },
    id: { type: 'string', minLength: 1, maxLength: 256, description: 'The kid of generated tokens. Apigee: <Id>.' },
  },
};

export const privateKeySchema: JSONSchema = {
  type: 'object',
  required: ['value'],
  description: 'The signing key for RS*, PS*, ES*, EdDSA. Apigee: <PrivateKey>.',
  properties: {
    value: pem('The PEM private key, never a literal: {secretRef} or {ref}. Apigee: <Value ref>.'),
    password: refOrSecret({
      type: 'string',
      maxLength: 1024,
      description: "The PEM's password when it is encrypted. Apigee: <Password ref>.",
    }),
    id: { type: 'string', minLength: 1, maxLength: 256, description: 'The kid of generated tokens. Apigee: <Id>.' },
  },
};

export const claimsSchema = (what: string): JSONSchema => ({
  type: 'array',
  maxItems: 64,
  description: what,
  items: {
    type: 'object',
    description: 'One claim or header: a literal value or a ref.',
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 256, description: 'The claim or header name.' },
      value: { type: 'string', maxLength: 4096, description: 'Literal text; an array takes comma-separated items.' },
      ref: { type: 'string', minLength: 1, maxLength: 256, description: 'A flow variable holding the value.' },
      type: {
        type: 'string',
        enum: ['string', 'number', 'boolean', 'map'],
        description: 'Default string; map takes a JSON object.',
      },
      array: { type: 'boolean', description: 'The value is an array of the type.' },
    },
  },
});

export const knownHeadersSchema: JSONSchema = {
  type: 'array',
  maxItems: 32,
  items: { type: 'string', minLength: 1, maxLength: 256, description: 'A header name.' },
  description:
    'Header names this proxy understands when a token lists them in crit; any other crit name fails the token (UnhandledCriticalHeader). Apigee: <KnownHeaders>.',
};

export const sourceSchema: JSONSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  description:
    'The variable holding the token; default request.header.authorization (a leading "Bearer " is removed). Apigee: <Source>.',
};

export const textOf = (value: RefOr<string> | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** Why a key URL is refused, or undefined: https only, no credentials, no link-local or metadata host. */
export function keyUrlProblem(text: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'https:') return 'must be an https URL (keys fetched in clear could be replaced)';
  if (parsed.username !== '' || parsed.password !== '') return 'may not carry credentials';
  const refused = refusedTargetClass(parsed.hostname.replace(/^\[|\]$/g, ''));
  return refused === undefined ? undefined : `names a ${refused} address, which extproc never fetches`;
}

export function literalSecret(value: unknown): boolean {
  return typeof value === 'string';
}

/** The checks JSON Schema cannot say, for a verifying policy's keys. */
export function verifyKeyProblems(
  algorithms: readonly string[],
  publicKey: PublicKeyConfig | undefined,
  secretKey: SecretKeyConfig | undefined,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const hmac = algorithms.filter(isHmac);
  if (hmac.length > 0 && hmac.length < algorithms.length)
    problems.push({
      path: 'algorithms',
      message: 'mixes HMAC and public-key algorithms: a public key used as an HMAC secret would verify forged tokens',
    });
  if (new Set(algorithms).size !== algorithms.length)
    problems.push({ path: 'algorithms', message: 'lists an algorithm twice' });
  const wantsSecret = hmac.length > 0;
  if (wantsSecret && !secretKey) problems.push({ path: 'secretKey', message: 'HS* algorithms need secretKey' });
  if (wantsSecret && publicKey)
    problems.push({ path: 'publicKey', message: 'HS* algorithms take secretKey, not publicKey' });
  if (!wantsSecret && !publicKey) problems.push({ path: 'publicKey', message: 'public-key algorithms need publicKey' });
  if (!wantsSecret && secretKey)
    problems.push({ path: 'secretKey', message: 'public-key algorithms take publicKey, not secretKey' });
  if (secretKey && literalSecret(secretKey.value))
    problems.push({
      path: 'secretKey.value',
      message: 'a literal secret would stand in the snapshot in clear: use {secretRef: {name, key}} or {ref: VARIABLE}',
    });
  if (publicKey) {
    const set = (['value', 'certificate', 'jwks', 'jwksUri', 'discoveryUri'] as const).filter(
      (k) => publicKey[k] !== undefined,
    );
    if (set.length !== 1)
      problems.push({
        path: 'publicKey',
        message: 'set exactly one of value, certificate, jwks, jwksUri, discoveryUri',
      });
    for (const k of ['jwksUri', 'discoveryUri'] as const) {
      const text = publicKey[k];
      const problem = text === undefined ? undefined : keyUrlProblem(text);
      if (problem) problems.push({ path: `publicKey.${k}`, message: problem });
    }
  }
  return problems;
}

/** The checks JSON Schema cannot say, for a signing policy's keys. */
export function signKeyProblems(
  algorithm: string,
  privateKey: PrivateKeyConfig | undefined,
  secretKey: SecretKeyConfig | undefined,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (isHmac(algorithm)) {
    if (!secretKey) problems.push({ path: 'secretKey', message: `${algorithm} needs secretKey` });
    if (privateKey) problems.push({ path: 'privateKey', message: `${algorithm} takes secretKey, not privateKey` });
  } else {
    if (!privateKey) problems.push({ path: 'privateKey', message: `${algorithm} needs privateKey` });
    if (secretKey) problems.push({ path: 'secretKey', message: `${algorithm} takes privateKey, not secretKey` });
  }
  for (const [path, value] of [
    ['secretKey.value', secretKey?.value],
    ['privateKey.value', privateKey?.value],
    ['privateKey.password', privateKey?.password],
  ] as const) {
    if (literalSecret(value))
      problems.push({
        path,
        message:
          'a literal secret would stand in the snapshot in clear: use {secretRef: {name, key}} or {ref: VARIABLE}',
      });
  }
  return problems;
}

/** Claims and headers: a literal or a ref, not both; literal maps are refused (a map comes from a ref). */
export function claimProblems(path: string, claims: readonly ClaimConfig[] | undefined): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  (claims ?? []).forEach((c, i) => {
    if ((c.value === undefined) === (c.ref === undefined))
      problems.push({ path: `${path}[${i}]`, message: 'set exactly one of value and ref' });
    if (c.type === 'map' && c.value !== undefined)
      problems.push({
        path: `${path}[${i}].value`,
        message: 'a map claim takes ref (a variable holding a JSON object)',
      });
    if (c.type === 'number' && c.value !== undefined && c.value.split(',').some((v) => !Number.isFinite(Number(v))))
      problems.push({ path: `${path}[${i}].value`, message: 'is not a number' });
    if (
      c.type === 'boolean' &&
      c.value !== undefined &&
      c.value.split(',').some((v) => !/^(true|false)$/i.test(v.trim()))
    )
      problems.push({ path: `${path}[${i}].value`, message: 'is not true or false' });
  });
  return problems;
}
