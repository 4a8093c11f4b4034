// <GetOAuthV2Info> -> GetOAuthV2Info (docs/policies.md#getoauthv2info): the one token element (<AccessToken ref>, <RefreshToken ref>, <AuthorizationCode ref>, <ClientId ref>).
// A literal token is reported and the policy not converted (it would stand in the manifests in clear).
import { oneTokenRef } from './oauth-common.ts';
import type { PolicyConverter } from './support.ts';

const members = [
  ['AccessToken', 'accessToken'],
  ['RefreshToken', 'refreshToken'],
  ['AuthorizationCode', 'authorizationCode'],
  ['ClientId', 'clientId'],
] as const;

export const getOAuthV2InfoConverter: PolicyConverter = {
  type: 'GetOAuthV2Info',
  convert: (el, ctx) => oneTokenRef(el, ctx, members),
};
