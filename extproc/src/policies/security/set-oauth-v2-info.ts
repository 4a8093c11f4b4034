// SetOAuthV2Info (docs/policies.md#getoauthv2info-setoauthv2info-deleteoauthv2info): adds or replaces
// custom attributes of a stored access token (re-sealed with the token, same expiry).
import { setOAuthV2Info, type SetOAuthV2InfoConfig } from '../../../../protos/policies/security/oauth-v2-info.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { expiredToken, setProfileVariables, unknownToken, unresolvedToken } from './oauth/info.ts';
import { customAttributes } from './oauth/issue.ts';
import { TokenRecords } from './oauth/records.ts';

export const setOAuthV2InfoPolicy: PolicyImplementation<SetOAuthV2InfoConfig> = {
  type: 'SetOAuthV2Info',
  create(config, meta) {
    checkConfig(setOAuthV2Info, config, meta);
    return async (ctx) => {
      const token = ctx.variables.resolve(config.accessToken);
      if (token === undefined || token === '') throw unresolvedToken('accessToken');
      const records = new TokenRecords(ctx, ctx.proxy.namespace);
      const record = await records.load('access', String(token));
      if (!record) throw unknownToken('access', 500);
      if (record.expiresAt <= ctx.now()) throw expiredToken('access', 500);
      Object.assign(
        record.attributes,
        customAttributes(ctx, { operation: 'VerifyAccessToken', attributes: config.attributes }),
      );
      await records.save('access', String(token), record);
      setProfileVariables(ctx, meta.name, 'access', String(token), record);
      return undefined;
    };
  },
};
