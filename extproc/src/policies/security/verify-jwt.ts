// VerifyJWT (Apigee's VerifyJWT, docs/policies.md#verifyjwt): the token from Source (default the
// Authorization header, "Bearer " removed) is bounded and decoded, its signature verified through jose
// against the algorithm allow-list and the configured keys (jwt/verify.ts), then exp, nbf and iat
// (with TimeAllowance), issuer, audience, subject, jti, additional claims and headers are held to the
// config. Sets jwt.{policy}.* and jwt.{policy}.failed; every failure is Apigee's 401 fault.
import { verifyJWT, type VerifyJwtConfig } from '../../../../protos/policies/security/verify-jwt.ts';
import { parseTimeValue, type ClaimConfig } from '../../../../protos/policies/security/jwt-common.ts';
import type { PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import {
  claimMatches,
  claimValue,
  setClaimVariables,
  setDecodedClaimVariables,
  setHeaderVariables,
} from './jwt/claims.ts';
import { decryptClaims, jweHeader } from './jwt/encrypted.ts';
import { joseFaults, jwtFault } from './jwt/faults.ts';
import { decodeJsonObject, splitCompact, TokenDecodeError, tokenText } from './jwt/token.ts';
import { quoted, verificationStep, verifySignature } from './jwt/verify.ts';

export const DEFAULT_TOKEN_SOURCE = 'request.header.authorization';

const faults = joseFaults('jwt', 401);
const fault = (name: Parameters<typeof jwtFault>[0], text: string) => jwtFault(name, 401, text);

/** The token's numeric date claim in ms, undefined when absent; a non-number fails the token. */
function numericDate(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw fault('InvalidToken', `The ${name} claim is not a number`);
  return value * 1000;
}

/** The resolved text of a ref-or-literal check, or undefined when it is not configured or (ignored) unset. */
function expected(
  ctx: PolicyContext,
  config: VerifyJwtConfig,
  value: VerifyJwtConfig['issuer'],
  what: string,
): string | undefined {
  if (value === undefined) return undefined;
  const resolved = ctx.variables.resolve(value);
  if (resolved !== undefined && resolved !== null) return String(resolved);
  if (config.ignoreUnresolvedVariables) return undefined;
  throw fault('FailedToResolveVariable', `Failed to resolve the variable of ${what}`);
}

function checkTimes(ctx: PolicyContext, config: VerifyJwtConfig, claims: Record<string, unknown>): void {
  const allowanceText = config.timeAllowance === undefined ? '0' : ctx.variables.resolve(config.timeAllowance);
  const allowance = parseTimeValue(String(allowanceText ?? '0'));
  if (allowance === undefined) throw fault('UnknownException', 'The time allowance is not a time value');
  const now = ctx.now();
  const exp = numericDate(claims, 'exp');
  const nbf = numericDate(claims, 'nbf');
  const iat = numericDate(claims, 'iat');
  if (exp !== undefined && now >= exp + allowance) throw fault('TokenExpired', 'The Token has expired');
  if (nbf !== undefined && now + allowance < nbf) throw fault('TokenNotYetValid', 'The Token is not yet valid');
  if (iat !== undefined && !config.ignoreIssuedAt && now + allowance < iat)
    throw fault('TokenNotYetValid', 'The Token was issued in the future');
}

function checkClaims(
  ctx: PolicyContext,
  config: VerifyJwtConfig,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): void {
  const issuer = expected(ctx, config, config.issuer, 'issuer');
  if (issuer !== undefined && claims.iss !== issuer) throw fault('JwtIssuerMismatch', 'Issuer mismatch');
  const audience = expected(ctx, config, config.audience, 'audience');
  if (audience !== undefined) {
    const wanted = audience.split(',').map((a) => a.trim());
    const aud = claims.aud;
    const got = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!wanted.some((w) => got.includes(w))) throw fault('JwtAudienceMismatch', 'Audience mismatch');
  }
  const subject = expected(ctx, config, config.subject, 'subject');
  if (subject !== undefined && claims.sub !== subject) throw fault('JwtSubjectMismatch', 'Subject mismatch');
  const id = expected(ctx, config, config.id, 'id');
  if (id !== undefined && claims.jti !== id) throw fault('InvalidClaim', 'Invalid Claim: jti');
  const hold = (list: ClaimConfig[] | undefined, source: Record<string, unknown>, what: string) => {
    for (const claim of list ?? []) {
      let value: unknown;
      try {
        value = claimValue(ctx.variables, claim);
      } catch {
        throw fault('FailedToResolveVariable', `The variable of ${what} ${quoted(claim.name)} does not hold JSON`);
      }
      if (value === undefined) {
        if (config.ignoreUnresolvedVariables) continue;
        throw fault('FailedToResolveVariable', `Failed to resolve the variable of ${what} ${quoted(claim.name)}`);
      }
      if (!claimMatches(value, source[claim.name]))
        throw fault('InvalidClaim', `Invalid ${what}: ${quoted(claim.name)}`);
    }
  };
  hold(config.additionalClaims, claims, 'claim');
  hold(config.additionalHeaders, header, 'header');
}

/** type Encrypted: the JWE's header is checked against the allow-lists, then it is decrypted to its claims. */
async function decrypt(
  ctx: PolicyContext,
  meta: PolicyMeta,
  config: VerifyJwtConfig,
  prefix: string,
  token: string,
): Promise<{ header: Record<string, unknown>; claims: Record<string, unknown> }> {
  let header: Record<string, unknown>;
  try {
    header = jweHeader(token);
  } catch (err) {
    if (err instanceof TokenDecodeError) throw faults.undecodable(`Failed to Decode Token: ${err.message}`);
    throw err;
  }
  setHeaderVariables(ctx.variables, prefix, header);
  const claims = await decryptClaims(
    ctx,
    meta,
    { encryptionAlgorithms: config.encryptionAlgorithms!, privateKey: config.privateKey, secretKey: config.secretKey },
    faults,
    token,
    header,
  );
  return { header, claims };
}

async function verify(ctx: PolicyContext, meta: PolicyMeta, config: VerifyJwtConfig, prefix: string): Promise<void> {
  const source = config.source ?? DEFAULT_TOKEN_SOURCE;
  const raw = ctx.variables.getString(source);
  if (raw === undefined) throw fault('FailedToResolveVariable', `Failed to resolve the variable ${source}`);
  if (config.type === 'Encrypted') {
    const { header, claims } = await decrypt(ctx, meta, config, prefix, tokenText(raw));
    setDecodedClaimVariables(ctx.variables, prefix, claims);
    setClaimVariables(ctx.variables, prefix, claims, ctx.now());
    checkTimes(ctx, config, claims);
    checkClaims(ctx, config, header, claims);
    return;
  }
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  let parts;
  try {
    parts = splitCompact(tokenText(raw));
    header = parts.header;
    setHeaderVariables(ctx.variables, prefix, header);
    if (header.b64 !== undefined) throw new TokenDecodeError('malformed', 'a JWT may not set b64');
    claims = decodeJsonObject(parts.payloadB64, 'the payload');
  } catch (err) {
    if (err instanceof TokenDecodeError) throw faults.undecodable(`Failed to Decode Token: ${err.message}`);
    throw err;
  }
  setDecodedClaimVariables(ctx.variables, prefix, claims);
  await verifySignature(ctx, meta, { ...config, algorithms: config.algorithms ?? [] }, faults, parts);
  setClaimVariables(ctx.variables, prefix, claims, ctx.now());
  checkTimes(ctx, config, claims);
  checkClaims(ctx, config, header, claims);
}

export const verifyJwtPolicy: PolicyImplementation<VerifyJwtConfig> = {
  type: 'VerifyJWT',
  create(config, meta) {
    checkConfig(verifyJWT, config, meta);
    const prefix = `jwt.${meta.name}`;
    return verificationStep(prefix, (ctx) => verify(ctx, meta, config, prefix));
  },
};
