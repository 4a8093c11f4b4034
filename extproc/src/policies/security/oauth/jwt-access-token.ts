// JWT access tokens (docs/policies.md#jwt-access-tokens): Apigee X's GenerateJWTAccessToken,
// RefreshJWTAccessToken and VerifyJWTAccessToken. The access token is an RFC 9068 JWT (typ at+JWT)
// signed through the JWT policies' key handling (../jwt/sign.ts, ../jwt/verify.ts), and it is stored
// like an opaque one: verifying checks the signature and then the store, so InvalidateToken revokes
// it at once and a token of another namespace is unknown even where the same key verifies it.
import { randomUUID } from 'node:crypto';
import type { OAuthV2Config } from '../../../../../protos/policies/security/oauth-v2.ts';
import type { PolicyContext, PolicyMeta } from '../../../flow/types.ts';
import { joseFaults, type JoseFaultName, type JoseFaults } from '../jwt/faults.ts';
import { signCompact } from '../jwt/sign.ts';
import { decodeJsonObject, splitCompact, type CompactParts } from '../jwt/token.ts';
import { verifySignature } from '../jwt/verify.ts';
import { accessTokenExpired, invalidAccessToken } from './faults.ts';
import type { AccessTokenClaims, AccessTokenMinter } from './issue.ts';
import { MAX_TOKEN_LENGTH } from './records.ts';
import { presentedToken, verifyStoredToken } from './verify.ts';

/** RFC 9068 section 2.1: the typ of a JWT access token. */
export const JWT_ACCESS_TOKEN_TYPE = 'at+JWT';

const signFaults = joseFaults('jwt', 500);

/** The issuer Apigee writes: (http|https)://{host}/{proxy base path}. */
function issuer(ctx: PolicyContext): string {
  const scheme = ctx.request.scheme === 'http' ? 'http' : 'https';
  return `${scheme}://${ctx.request.authority}${ctx.proxy.basePath === '/' ? '' : ctx.proxy.basePath}`;
}

/** Signs the access token of an issue: iss, sub (the end user, else the client), jti, iat, exp, client_id, scope. */
export function jwtMinter(ctx: PolicyContext, meta: PolicyMeta, config: OAuthV2Config): AccessTokenMinter {
  return async (claims: AccessTokenClaims) => {
    const payload = {
      iss: issuer(ctx),
      sub: claims.appEndUser ?? claims.clientId,
      jti: randomUUID(),
      iat: Math.floor(claims.issuedAt / 1000),
      exp: Math.floor(claims.expiresAt / 1000),
      client_id: claims.clientId,
      scope: claims.scope,
    };
    const token = await signCompact(
      ctx,
      meta,
      { algorithm: config.algorithm!, privateKey: config.privateKey, secretKey: config.secretKey },
      signFaults,
      Buffer.from(JSON.stringify(payload), 'utf8'),
      { typ: JWT_ACCESS_TOKEN_TYPE },
    );
    // Longer tokens could never be verified (nor stored): say so where the cause is, the config.
    if (token.length > MAX_TOKEN_LENGTH)
      throw signFaults.fault('SigningFailed', `The JWT access token is longer than ${MAX_TOKEN_LENGTH} characters`);
    return token;
  };
}

/**
 * VerifyJWTAccessToken's faults: whatever the token itself gets wrong (form, alg, kid, crit,
 * signature) is Apigee's invalid access token, as for an opaque token; what the configuration or a
 * dependency gets wrong (a key that is unset, does not parse, is too short; a JWKS URL that is down)
 * keeps the JWT policies' code, so that it is not mistaken for a client's fault.
 */
const TOKEN_FAULTS: ReadonlySet<JoseFaultName> = new Set([
  'AlgorithmInTokenNotPresentInConfiguration',
  'NoAlgorithmFoundInHeader',
  'UnhandledCriticalHeader',
  'NoMatchingPublicKey',
  'FailedToDecode',
  'InvalidClaim',
]);
const configFaults = joseFaults('jwt', 401);
const verifyFaults: JoseFaults = {
  family: 'jwt',
  fault: (name, faultString) => (TOKEN_FAULTS.has(name) ? invalidAccessToken() : configFaults.fault(name, faultString)),
  badSignature: () => invalidAccessToken(),
  undecodable: () => invalidAccessToken(),
};

/** RFC 9068 section 4: typ is at+jwt (case-insensitive), optionally with the application/ prefix. */
function isAccessTokenType(typ: unknown): boolean {
  return typeof typ === 'string' && /^(application\/)?at\+jwt$/i.test(typ);
}

function parts(token: string): CompactParts {
  try {
    return splitCompact(token);
  } catch {
    throw invalidAccessToken();
  }
}

export async function verifyJwtAccessToken(ctx: PolicyContext, meta: PolicyMeta, config: OAuthV2Config): Promise<void> {
  const token = presentedToken(ctx, config);
  if (token.length > MAX_TOKEN_LENGTH) throw invalidAccessToken();
  const compact = parts(token);
  // Another JWT signed with the same key (an ID token, a GenerateJWT output) is not an access token.
  if (!isAccessTokenType(compact.header.typ)) throw invalidAccessToken();
  // Gatehouse never signs with RFC 7797's b64 or any crit: a token that has them is not one of ours.
  if (compact.header.b64 !== undefined || compact.header.crit !== undefined) throw invalidAccessToken();
  const bytes = await verifySignature(
    ctx,
    meta,
    { algorithms: [config.algorithm!], publicKey: config.publicKey, secretKey: config.secretKey },
    verifyFaults,
    compact,
  );
  let claims: Record<string, unknown>;
  try {
    claims = decodeJsonObject(Buffer.from(bytes).toString('base64url'), 'the payload');
  } catch {
    throw invalidAccessToken();
  }
  if (typeof claims.exp !== 'number' || typeof claims.client_id !== 'string') throw invalidAccessToken();
  if (claims.exp * 1000 <= ctx.now()) throw accessTokenExpired();
  // The signature says who issued it; the store says it is still good, here, for this proxy.
  await verifyStoredToken(ctx, config, token);
}
