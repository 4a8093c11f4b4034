// GenerateJWT (Apigee's GenerateJWT, docs/policies.md#generatejwt): builds the claims (iat now; iss,
// sub, aud, jti, exp, nbf, additional claims from literals or variables) and signs them through jose
// with a key from a Secret (jwt/sign.ts) into the output variable. Failures are Apigee's 500 faults.
import { randomUUID } from 'node:crypto';
import { generateJWT, type GenerateJwtConfig } from '../../../../protos/policies/security/generate-jwt.ts';
import { parseTimeValue } from '../../../../protos/policies/security/jwt-common.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { claimValue } from './jwt/claims.ts';
import { joseFaults } from './jwt/faults.ts';
import { encryptClaims } from './jwt/encrypted.ts';
import { protectedHeader, signCompact } from './jwt/sign.ts';
import { quoted } from './jwt/verify.ts';

const faults = joseFaults('jwt', 500);

function text(
  ctx: PolicyContext,
  config: GenerateJwtConfig,
  value: GenerateJwtConfig['issuer'],
  what: string,
): string | undefined {
  if (value === undefined) return undefined;
  const resolved = ctx.variables.resolve(value);
  if (resolved !== undefined && resolved !== null) return String(resolved);
  if (config.ignoreUnresolvedVariables) return undefined;
  throw faults.fault('FailedToResolveVariable', `Failed to resolve the variable of ${what}`);
}

function seconds(
  ctx: PolicyContext,
  config: GenerateJwtConfig,
  value: GenerateJwtConfig['expiresIn'],
  what: string,
): number | undefined {
  const t = text(ctx, config, value, what);
  if (t === undefined) return undefined;
  const ms = parseTimeValue(t);
  if (ms === undefined) throw faults.fault('InvalidClaim', `${what} is not a time value`);
  return Math.floor(ms / 1000);
}

function buildClaims(ctx: PolicyContext, config: GenerateJwtConfig): Record<string, unknown> {
  const iat = Math.floor(ctx.now() / 1000);
  const claims: Record<string, unknown> = {};
  const iss = text(ctx, config, config.issuer, 'issuer');
  if (iss !== undefined) claims.iss = iss;
  const sub = text(ctx, config, config.subject, 'subject');
  if (sub !== undefined) claims.sub = sub;
  const aud = text(ctx, config, config.audience, 'audience');
  if (aud !== undefined) {
    const list = aud.split(',').map((a) => a.trim());
    claims.aud = list.length === 1 ? list[0] : list;
  }
  if (config.id?.generate) claims.jti = randomUUID();
  else if (config.id?.value !== undefined) {
    const jti = text(ctx, config, config.id.value, 'id');
    if (jti !== undefined) claims.jti = jti;
  }
  claims.iat = iat;
  const expiresIn = seconds(ctx, config, config.expiresIn, 'expiresIn');
  if (expiresIn !== undefined) claims.exp = iat + expiresIn;
  const notBefore = seconds(ctx, config, config.notBefore, 'notBefore');
  if (notBefore !== undefined) claims.nbf = iat + notBefore;
  for (const claim of config.additionalClaims ?? []) {
    let value: unknown;
    try {
      value = claimValue(ctx.variables, claim);
    } catch {
      throw faults.fault('FailedToResolveVariable', `The variable of claim ${quoted(claim.name)} does not hold JSON`);
    }
    if (value === undefined) {
      if (config.ignoreUnresolvedVariables) continue;
      throw faults.fault('FailedToResolveVariable', `Failed to resolve the variable of claim ${quoted(claim.name)}`);
    }
    claims[claim.name] = value;
  }
  return claims;
}

async function generate(ctx: PolicyContext, meta: PolicyMeta, config: GenerateJwtConfig): Promise<void> {
  const claims = buildClaims(ctx, config);
  if (config.type === 'Encrypted') {
    const enc = config.encryptionAlgorithms!;
    const kid = config.secretKey?.id;
    const header = protectedHeader(ctx, { ...config, algorithm: enc.key }, faults, { typ: 'JWT' }, kid);
    const token = await encryptClaims(ctx, meta, { ...config, encryptionAlgorithms: enc }, faults, claims, header);
    ctx.variables.set(config.outputVariable, token);
    return;
  }
  const payload = Buffer.from(JSON.stringify(claims), 'utf8');
  const token = await signCompact(ctx, meta, { ...config, algorithm: config.algorithm! }, faults, payload, {
    typ: 'JWT',
  });
  ctx.variables.set(config.outputVariable, token);
}

export const generateJwtPolicy: PolicyImplementation<GenerateJwtConfig> = {
  type: 'GenerateJWT',
  create(config, meta) {
    checkConfig(generateJWT, config, meta);
    const prefix = `jwt.${meta.name}`;
    return async (ctx) => {
      try {
        await generate(ctx, meta, config);
      } catch (err) {
        if (err instanceof PolicyFault) {
          ctx.variables.set(`${prefix}.error`, err.message);
          ctx.variables.set(`${prefix}.failed`, true);
        }
        throw err;
      }
      ctx.variables.set(`${prefix}.failed`, false);
      return undefined;
    };
  },
};
