// <DeleteOAuthV2Info> -> DeleteOAuthV2Info (docs/policies.md#deleteoauthv2info): the one token element (<AccessToken ref>, <AuthorizationCode ref>).
// A literal token is reported and the policy not converted (it would stand in the manifests in clear).
import { LITERAL, tokenRef } from './oauth-common.ts';
import type { PolicyConverter } from './support.ts';

const members: Array<[string, string]> = [
  ['AccessToken', 'accessToken'],
  ['AuthorizationCode', 'authorizationCode'],
];

export const deleteOAuthV2InfoConverter: PolicyConverter = {
  type: 'DeleteOAuthV2Info',
  convert(el, ctx) {
    const out: Record<string, unknown> = {};
    for (const [apigee, member] of members) {
      const v = tokenRef(el.child(apigee), ctx);
      if (v === LITERAL) return undefined;
      if (v !== undefined) out[member] = v;
    }
    if (Object.keys(out).length !== 1) {
      ctx.unsupported(
        el.xpath,
        `exactly one of ${members.map(([a]) => `<${a} ref>`).join(', ')} is needed: the policy is not converted`,
      );
      return undefined;
    }
    return out;
  },
};
