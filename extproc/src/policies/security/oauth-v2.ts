// OAuthV2 (docs/policies.md#oauthv2): Gatehouse as an OAuth 2.0 authorization server, one Apigee
// operation per step; the JWT operations issue and verify RFC 9068 JWT access tokens. The operations live in ./oauth/; this file dispatches and shapes the answers:
// the token JSON or the 302 with the code (generateResponse), the OAuth error bodies, the
// oauthv2accesstoken.{policy}.* / oauthv2authcode.{policy}.* variables and oauthV2.{policy}.failed.
import { oauthV2, type OAuthV2Config } from '../../../../protos/policies/security/oauth-v2.ts';
import type { PolicyContext, PolicyImplementation, PolicyMeta, StepResult } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { OAuthErrorThrown, toFault } from './oauth/faults.ts';
import { jsonResponse, setTokenVariables, tokenResponse } from './oauth/issue.ts';
import { setTokensStatus } from './oauth/revoke.ts';
import {
  generateAccessToken,
  generateAuthorizationCode,
  refreshAccessToken,
  type CodeOutcome,
  type TokenOutcome,
} from './oauth/token-endpoint.ts';
import { jwtMinter, verifyJwtAccessToken } from './oauth/jwt-access-token.ts';
import { verifyAccessToken } from './oauth/verify.ts';

function codeAnswer(ctx: PolicyContext, meta: PolicyMeta, outcome: CodeOutcome, respond: boolean): StepResult {
  const prefix = `oauthv2authcode.${meta.name}`;
  ctx.variables.set(`${prefix}.code`, outcome.code);
  ctx.variables.set(`${prefix}.redirect_uri`, outcome.redirectUri);
  ctx.variables.set(`${prefix}.scope`, outcome.record.scope);
  ctx.variables.set(`${prefix}.client_id`, outcome.record.clientId);
  if (outcome.state !== undefined) ctx.variables.set(`${prefix}.state`, outcome.state);
  for (const [name, a] of Object.entries(outcome.record.attributes)) ctx.variables.set(`${prefix}.${name}`, a.value);
  if (!respond) return undefined;
  const location = new URL(outcome.redirectUri);
  location.searchParams.set('code', outcome.code);
  if (outcome.state !== undefined) location.searchParams.set('state', outcome.state);
  return {
    respond: { status: 302, headers: { location: location.toString(), 'cache-control': 'no-store' }, body: '' },
  };
}

function tokenAnswer(ctx: PolicyContext, meta: PolicyMeta, outcome: TokenOutcome, config: OAuthV2Config): StepResult {
  setTokenVariables(ctx, meta, outcome.issued);
  return config.generateResponse === true
    ? jsonResponse(tokenResponse(ctx, outcome.issued, config.rfcCompliantRequestResponse === true))
    : undefined;
}

async function run(ctx: PolicyContext, meta: PolicyMeta, config: OAuthV2Config): Promise<StepResult> {
  switch (config.operation) {
    case 'GenerateAccessToken':
      return tokenAnswer(ctx, meta, await generateAccessToken(ctx, config), config);
    case 'RefreshAccessToken':
      return tokenAnswer(ctx, meta, await refreshAccessToken(ctx, config), config);
    case 'GenerateAuthorizationCode':
      return codeAnswer(ctx, meta, await generateAuthorizationCode(ctx, config), config.generateResponse === true);
    case 'VerifyAccessToken':
      await verifyAccessToken(ctx, config);
      return undefined;
    case 'InvalidateToken':
      await setTokensStatus(ctx, config, 'revoked');
      return undefined;
    case 'ValidateToken':
      await setTokensStatus(ctx, config, 'approved');
      return undefined;
    case 'GenerateJWTAccessToken':
      return tokenAnswer(ctx, meta, await generateAccessToken(ctx, config, jwtMinter(ctx, meta, config)), config);
    case 'RefreshJWTAccessToken':
      return tokenAnswer(ctx, meta, await refreshAccessToken(ctx, config, jwtMinter(ctx, meta, config)), config);
    case 'VerifyJWTAccessToken':
      await verifyJwtAccessToken(ctx, meta, config);
      return undefined;
  }
}

export const oauthV2Policy: PolicyImplementation<OAuthV2Config> = {
  type: 'OAuthV2',
  create(config, meta) {
    checkConfig(oauthV2, config, meta);
    const errorShape = {
      oauthBody: config.generateErrorResponse ?? config.generateResponse === true,
      rfc: config.rfcCompliantRequestResponse === true,
    };
    return async (ctx) => {
      const failed = `oauthV2.${meta.name}.failed`;
      try {
        const result = await run(ctx, meta, config);
        ctx.variables.set(failed, false);
        return result;
      } catch (err) {
        ctx.variables.set(failed, true);
        if (err instanceof OAuthErrorThrown) {
          throw toFault(err, {
            ...errorShape,
            basic: /^basic\s/i.test(ctx.request.headers.get('authorization') ?? ''),
          });
        }
        throw err;
      }
    };
  },
};
