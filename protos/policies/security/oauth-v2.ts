// OAuthV2: Gatehouse as an OAuth 2.0 authorization server (docs/policies.md#oauthv2), Apigee's
// <OAuthV2> operations. Token-endpoint operations read the form-encoded request body, so a proxy
// whose flow runs one gets its request body from Envoy.
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type ConfigProblem, type RefOr } from '../schema.ts';
import {
  privateKeySchema,
  publicKeySchema,
  secretKeySchema,
  signKeyProblems,
  verifyKeyProblems,
  type PrivateKeyConfig,
  type PublicKeyConfig,
  type SecretKeyConfig,
} from './jwt-common.ts';

export const OAUTH_OPERATIONS = [
  'GenerateAccessToken',
  'GenerateAuthorizationCode',
  'RefreshAccessToken',
  'VerifyAccessToken',
  'InvalidateToken',
  'ValidateToken',
  'GenerateJWTAccessToken',
  'RefreshJWTAccessToken',
  'VerifyJWTAccessToken',
] as const;
export type OAuthOperation = (typeof OAUTH_OPERATIONS)[number];

/** The operations whose access tokens are RFC 9068 JWTs (Apigee X's JWT access tokens). */
export const JWT_OPERATIONS: ReadonlySet<OAuthOperation> = new Set([
  'GenerateJWTAccessToken',
  'RefreshJWTAccessToken',
  'VerifyJWTAccessToken',
]);

/** What Apigee signs JWT access tokens with: RS256/384/512 and HS256/384/512. */
export const JWT_ACCESS_TOKEN_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512'] as const;
export type JwtAccessTokenAlgorithm = (typeof JWT_ACCESS_TOKEN_ALGORITHMS)[number];

export const GRANT_TYPES = ['client_credentials', 'password', 'authorization_code', 'refresh_token'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export interface OAuthAttribute {
  name: string;
  value: RefOr<string>;
  /** false (default): kept on the token and in its variables only; true: also in the token response. */
  display?: boolean;
}

export interface OAuthTokenRef {
  type: 'accesstoken' | 'refreshtoken';
  /** Also the paired token (the access token's refresh token, the refresh token's access token); default true. */
  cascade?: boolean;
  value: RefOr<string>;
}

export interface OAuthV2Config {
  operation: OAuthOperation;
  /** GenerateAccessToken: the grant types this endpoint accepts; default client_credentials. */
  supportedGrantTypes?: GrantType[];
  /** Default: the grant_type form parameter, else query parameter. */
  grantType?: RefOr<string>;
  /** Access token (or authorization code) lifetime in milliseconds. */
  expiresIn?: RefOr<number>;
  refreshTokenExpiresIn?: RefOr<number>;
  /** Generate*: the requested scope (default the scope parameter). VerifyAccessToken: the required scopes, space-separated (any of them). */
  scope?: RefOr<string>;
  attributes?: OAuthAttribute[];
  generateResponse?: boolean;
  generateErrorResponse?: boolean;
  rfcCompliantRequestResponse?: boolean;
  reuseRefreshToken?: boolean;
  /** VerifyAccessToken: where the token is (default the Authorization header, after accessTokenPrefix). */
  accessToken?: RefOr<string>;
  accessTokenPrefix?: string;
  refreshToken?: RefOr<string>;
  code?: RefOr<string>;
  clientId?: RefOr<string>;
  redirectUri?: RefOr<string>;
  responseType?: RefOr<string>;
  state?: RefOr<string>;
  userName?: RefOr<string>;
  password?: RefOr<string>;
  externalAccessToken?: RefOr<string>;
  externalRefreshToken?: RefOr<string>;
  storeToken?: boolean;
  externalAuthorization?: boolean;
  /** InvalidateToken, ValidateToken: the tokens to revoke or approve again. */
  tokens?: OAuthTokenRef[];
  /** Generate*: the end user (resource owner) id kept with the token; the JWT's sub. Apigee: <AppEndUser>. */
  appEndUser?: RefOr<string>;
  /** The JWT operations: the signing algorithm. Apigee: <Algorithm>. */
  algorithm?: JwtAccessTokenAlgorithm;
  /** GenerateJWTAccessToken, RefreshJWTAccessToken with RS*. Apigee: <PrivateKey>. */
  privateKey?: PrivateKeyConfig;
  /** The JWT operations with HS*. Apigee: <SecretKey>. */
  secretKey?: SecretKeyConfig;
  /** VerifyJWTAccessToken with RS*. Apigee: <PublicKey>. */
  publicKey?: PublicKeyConfig;
}

const TOKEN_ENDPOINT: ReadonlySet<OAuthOperation> = new Set([
  'GenerateAccessToken',
  'GenerateAuthorizationCode',
  'RefreshAccessToken',
  'GenerateJWTAccessToken',
  'RefreshJWTAccessToken',
]);

const MAX_LIFETIME_MS = 400 * 24 * 3600 * 1000;

const text = (description: string, maxLength = 1024) => refOr({ type: 'string', maxLength, description });
const lifetime = (description: string) => refOr({ type: 'integer', minimum: 1, maximum: MAX_LIFETIME_MS, description });
const flag = (description: string) => ({ type: 'boolean', description }) as const;

/** The algorithm and key elements: required by the JWT operations, refused elsewhere. */
function jwtProblems(c: OAuthV2Config): ConfigProblem[] {
  const keys = (['algorithm', 'privateKey', 'secretKey', 'publicKey'] as const).filter((k) => c[k] !== undefined);
  if (!JWT_OPERATIONS.has(c.operation))
    return keys.map((k) => ({
      path: k,
      message: `only the JWT operations (GenerateJWTAccessToken, RefreshJWTAccessToken, VerifyJWTAccessToken) take ${k}`,
    }));
  if (c.algorithm === undefined) return [{ path: 'algorithm', message: `${c.operation} needs algorithm` }];
  const problems: ConfigProblem[] =
    c.operation === 'VerifyJWTAccessToken'
      ? verifyKeyProblems([c.algorithm], c.publicKey, c.secretKey)
      : signKeyProblems(c.algorithm, c.privateKey, c.secretKey);
  if (c.operation === 'VerifyJWTAccessToken' && c.privateKey)
    problems.push({
      path: 'privateKey',
      message: 'VerifyJWTAccessToken takes publicKey (or secretKey), not privateKey',
    });
  if (c.operation !== 'VerifyJWTAccessToken' && c.publicKey)
    problems.push({
      path: 'publicKey',
      message: `${c.operation} signs: it takes privateKey (or secretKey), not publicKey`,
    });
  if (c.externalAccessToken !== undefined)
    problems.push({
      path: 'externalAccessToken',
      message: 'a JWT access token is signed here: an external access token cannot be one',
    });
  return problems;
}

export const oauthV2: PolicyTypeSpec = {
  type: 'OAuthV2',
  member: 'oauthV2',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'OAuthV2: Gatehouse as an OAuth 2.0 authorization server: issue, refresh, verify, revoke and re-approve access tokens and authorization codes of DeveloperApps, stored hashed in the DataPlane store. Apigee: <OAuthV2>.',
    required: ['operation'],
    properties: {
      operation: {
        type: 'string',
        enum: [...OAUTH_OPERATIONS],
        description: 'What the step does. Apigee: <Operation>.',
      },
      supportedGrantTypes: {
        type: 'array',
        maxItems: 4,
        items: { type: 'string', enum: [...GRANT_TYPES], description: 'A grant type.' },
        description:
          'GenerateAccessToken: the grant types accepted; default [client_credentials]. Apigee: <SupportedGrantTypes>.',
      },
      grantType: text(
        'GenerateAccessToken: the grant type; default the grant_type form parameter, else the query parameter. Apigee: <GrantType>.',
        64,
      ),
      expiresIn: lifetime(
        'Lifetime in milliseconds of the access token (default 1800000) or of the authorization code (default 600000). Apigee: <ExpiresIn>.',
      ),
      refreshTokenExpiresIn: lifetime(
        'Lifetime in milliseconds of the refresh token (default 2592000000, 30 days). Apigee: <RefreshTokenExpiresIn>.',
      ),
      scope: text(
        'Generate operations: the requested scope, space-separated (default the scope parameter). VerifyAccessToken: the required scopes, space-separated; any one of them in the token passes. Apigee: <Scope>.',
      ),
      attributes: {
        type: 'array',
        maxItems: 32,
        description:
          'Custom attributes stored with the token or code; with display true they are also in the token response. Apigee: <Attributes>.',
        items: {
          type: 'object',
          description: 'One attribute.',
          required: ['name', 'value'],
          properties: {
            name: {
              type: 'string',
              minLength: 1,
              maxLength: 128,
              pattern: '^[A-Za-z0-9_.-]+$',
              description: 'The name.',
            },
            value: text('The value (at most 1024 characters).'),
            display: flag('Whether the token response shows it (default false).'),
          },
        },
      },
      generateResponse: flag(
        'Token endpoint operations: answer the client now (the token JSON, or a 302 to the redirect URI with the code) instead of only setting variables; default false. Apigee: <GenerateResponse enabled>.',
      ),
      generateErrorResponse: flag(
        'Token endpoint operations: errors answer with the OAuth error body ({ErrorCode, Error}, or RFC 6749 {error, error_description}) instead of the fault body; default as generateResponse. Apigee: <GenerateErrorResponse enabled>.',
      ),
      rfcCompliantRequestResponse: flag(
        'RFC 6749 shapes: token_type Bearer, numeric expires_in, {error, error_description} errors, invalid_grant for bad codes and refresh tokens. Apigee: <RFCCompliantRequestResponse>.',
      ),
      reuseRefreshToken: flag(
        'Refresh: keep the refresh token (default false: every refresh issues a new one and the old one stops working). Apigee: <ReuseRefreshToken>.',
      ),
      accessToken: text(
        'VerifyAccessToken: the token; default the Authorization header after accessTokenPrefix. Apigee: <AccessToken>.',
        4096,
      ),
      accessTokenPrefix: {
        type: 'string',
        maxLength: 64,
        description:
          'VerifyAccessToken: the scheme before the token in the Authorization header; default Bearer. Apigee: <AccessTokenPrefix>.',
      },
      refreshToken: text('The refresh token; default the refresh_token parameter. Apigee: <RefreshToken>.', 4096),
      code: text(
        'GenerateAccessToken (authorization_code): the code; default the code parameter. Apigee: <Code>.',
        4096,
      ),
      clientId: text(
        'The client id when not from client authentication (GenerateAuthorizationCode: default the client_id parameter). Apigee: <ClientId>.',
      ),
      redirectUri: text('The redirect URI; default the redirect_uri parameter. Apigee: <RedirectUri>.', 2048),
      responseType: text(
        'GenerateAuthorizationCode: the response type (must be code); default the response_type parameter. Apigee: <ResponseType>.',
        64,
      ),
      state: text('GenerateAuthorizationCode: the state; default the state parameter. Apigee: <State>.', 2048),
      userName: text('password grant: the user name; default the username parameter. Apigee: <UserName>.'),
      password: text('password grant: the password; default the password parameter. Apigee: <PassWord>.'),
      externalAccessToken: text(
        'GenerateAccessToken: use this token (from an external authorization server) instead of generating one. Apigee: <ExternalAccessToken>.',
        4096,
      ),
      externalRefreshToken: text(
        'GenerateAccessToken, RefreshAccessToken: use this refresh token instead of generating one. Apigee: <ExternalRefreshToken>.',
        4096,
      ),
      storeToken: flag(
        'With externalAccessToken: store the external token so that VerifyAccessToken accepts it (required: Gatehouse only verifies stored tokens). Apigee: <StoreToken>.',
      ),
      externalAuthorization: flag(
        'GenerateAccessToken: the client was authenticated elsewhere; only its client_id is checked, not its secret. Apigee: <ExternalAuthorization>.',
      ),
      tokens: {
        type: 'array',
        minItems: 1,
        maxItems: 8,
        description: 'InvalidateToken, ValidateToken: the tokens to revoke or to approve again. Apigee: <Tokens>.',
        items: {
          type: 'object',
          description: 'One token.',
          required: ['type', 'value'],
          properties: {
            type: { type: 'string', enum: ['accesstoken', 'refreshtoken'], description: 'The kind of token.' },
            cascade: flag('Also the paired access or refresh token; default true.'),
            value: text('The token.', 4096),
          },
        },
      },
      appEndUser: text(
        'GenerateAccessToken, GenerateAuthorizationCode and the JWT generate operations: the id of the end user (resource owner) the token is for, kept with the token (app_enduser in the response and the variables; the sub of a JWT access token). Apigee: <AppEndUser>.',
      ),
      algorithm: {
        type: 'string',
        enum: [...JWT_ACCESS_TOKEN_ALGORITHMS],
        description:
          'GenerateJWTAccessToken, RefreshJWTAccessToken, VerifyJWTAccessToken: the signing algorithm of the JWT access token (RS256/384/512 take privateKey/publicKey, HS256/384/512 secretKey). Apigee: <Algorithm>.',
      },
      privateKey: privateKeySchema,
      secretKey: secretKeySchema,
      publicKey: publicKeySchema,
    },
  },
  needsBody: (config, phase) => {
    const c = config as OAuthV2Config;
    if (phase === 'request' && TOKEN_ENDPOINT.has(c.operation)) return true;
    return readsBodyVariable(phase, {
      names: [refName(c.accessToken), refName(c.scope), ...(c.tokens ?? []).map((t) => refName(t.value))],
    });
  },
  validate: (config) => {
    const c = config as OAuthV2Config;
    const problems: ConfigProblem[] = [];
    problems.push(...jwtProblems(c));
    if ((c.operation === 'InvalidateToken' || c.operation === 'ValidateToken') && !c.tokens) {
      problems.push({ path: 'tokens', message: `${c.operation} needs the tokens to act on` });
    }
    for (const member of [
      'password',
      'externalAccessToken',
      'externalRefreshToken',
      'accessToken',
      'refreshToken',
      'code',
    ] as const) {
      if (typeof c[member] === 'string') {
        problems.push({
          path: member,
          message: 'a literal credential would stand in the snapshot in clear: read it with {ref: VARIABLE}',
        });
      }
    }
    (c.tokens ?? []).forEach((t, i) => {
      if (typeof t.value === 'string')
        problems.push({
          path: `tokens[${i}].value`,
          message: 'a literal token would stand in the snapshot in clear: use {ref: VARIABLE}',
        });
    });
    if (c.externalAccessToken !== undefined && c.storeToken !== true) {
      problems.push({
        path: 'storeToken',
        message: 'externalAccessToken needs storeToken: true (Gatehouse verifies only tokens it stored)',
      });
    }
    return problems;
  },
};
