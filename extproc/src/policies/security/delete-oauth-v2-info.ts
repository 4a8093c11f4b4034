// DeleteOAuthV2Info (docs/policies.md#getoauthv2info-setoauthv2info-deleteoauthv2info): deletes an
// access token (and nothing else: its refresh token stays, as in Apigee) or an authorization code.
import { deleteOAuthV2Info, type DeleteOAuthV2InfoConfig } from '../../../../protos/policies/security/oauth-v2-info.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { unknownToken, unresolvedToken } from './oauth/info.ts';
import { TokenRecords } from './oauth/records.ts';

export const deleteOAuthV2InfoPolicy: PolicyImplementation<DeleteOAuthV2InfoConfig> = {
  type: 'DeleteOAuthV2Info',
  create(config, meta) {
    checkConfig(deleteOAuthV2Info, config, meta);
    const [member, kind] =
      config.accessToken !== undefined
        ? (['accessToken', 'access'] as const)
        : (['authorizationCode', 'code'] as const);
    return async (ctx) => {
      const token = ctx.variables.resolve(config[member]);
      if (token === undefined || token === '') throw unresolvedToken(member);
      const records = new TokenRecords(ctx, ctx.proxy.namespace);
      if (!(await records.take(kind, String(token)))) throw unknownToken(kind, 401);
      return undefined;
    };
  },
};
