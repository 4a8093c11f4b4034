// GetOAuthV2Info (docs/policies.md#getoauthv2info-setoauthv2info-deleteoauthv2info): the stored
// profile of an access token, refresh token or code, or a client id's app, as Apigee's variables.
import { getOAuthV2Info, type GetOAuthV2InfoConfig } from '../../../../protos/policies/security/oauth-v2-info.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { stillApproved } from './oauth/clients.ts';
import {
  expiredToken,
  setProfileVariables,
  unknownClient,
  unknownToken,
  unresolvedToken,
  type InfoKind,
} from './oauth/info.ts';
import { TokenRecords } from './oauth/records.ts';

const MEMBERS: ReadonlyArray<[keyof GetOAuthV2InfoConfig, InfoKind]> = [
  ['accessToken', 'access'],
  ['refreshToken', 'refresh'],
  ['authorizationCode', 'code'],
];

export const getOAuthV2InfoPolicy: PolicyImplementation<GetOAuthV2InfoConfig> = {
  type: 'GetOAuthV2Info',
  create(config, meta) {
    checkConfig(getOAuthV2Info, config, meta);
    return async (ctx) => {
      if (config.clientId !== undefined) {
        const id = ctx.variables.resolve(config.clientId);
        if (id === undefined || id === '') throw unresolvedToken('clientId');
        const client = stillApproved(ctx, ctx.runtime.hashCredential(String(id)));
        if (!client || client.app.namespace !== ctx.proxy.namespace) throw unknownClient();
        const prefix = `oauthv2client.${meta.name}`;
        const values: Record<string, string> = {
          client_id: String(id),
          'developer.app.name': client.app.name,
          'developer.email': client.app.developerEmail,
          redirection_uris: client.app.callbackUrl,
          status: client.credential.status.toLowerCase(),
        };
        for (const [name, value] of Object.entries(client.app.attributes)) values[name] = value;
        for (const [name, value] of Object.entries(values)) ctx.variables.set(`${prefix}.${name}`, value);
        return undefined;
      }
      const [member, kind] = MEMBERS.find(([m]) => config[m] !== undefined)!;
      const token = ctx.variables.resolve(config[member]);
      if (token === undefined || token === '') throw unresolvedToken(member);
      const record = await new TokenRecords(ctx, ctx.proxy.namespace).load(kind, String(token));
      if (!record) throw unknownToken(kind, 500);
      if (record.expiresAt <= ctx.now()) throw expiredToken(kind, 500);
      setProfileVariables(ctx, meta.name, kind, String(token), record);
      return undefined;
    };
  },
};
