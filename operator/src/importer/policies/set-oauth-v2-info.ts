// <SetOAuthV2Info> -> SetOAuthV2Info (docs/policies.md#setoauthv2info): <AccessToken ref> and
// <Attributes>. A literal token is reported and the policy not converted.
import { attributes, LITERAL, tokenRef } from './oauth-common.ts';
import type { PolicyConverter } from './support.ts';

export const setOAuthV2InfoConverter: PolicyConverter = {
  type: 'SetOAuthV2Info',
  convert(el, ctx) {
    const accessToken = tokenRef(el.child('AccessToken'), ctx);
    const attrs = attributes(el.child('Attributes'), ctx);
    if (accessToken === LITERAL) return undefined;
    if (!accessToken || !attrs) {
      ctx.unsupported(el.xpath, 'needs <AccessToken ref> and at least one <Attribute>: the policy is not converted');
      return undefined;
    }
    return { accessToken, attributes: attrs };
  },
};
