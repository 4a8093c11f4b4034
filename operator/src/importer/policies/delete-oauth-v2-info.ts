// <DeleteOAuthV2Info> -> DeleteOAuthV2Info (docs/policies.md#deleteoauthv2info): the one token element (<AccessToken ref>, <AuthorizationCode ref>).
// A literal token is reported and the policy not converted (it would stand in the manifests in clear).
import { oneTokenRef } from './oauth-common.ts';
import type { PolicyConverter } from './support.ts';

const members = [
  ['AccessToken', 'accessToken'],
  ['AuthorizationCode', 'authorizationCode'],
] as const;

export const deleteOAuthV2InfoConverter: PolicyConverter = {
  type: 'DeleteOAuthV2Info',
  convert: (el, ctx) => oneTokenRef(el, ctx, members),
};
