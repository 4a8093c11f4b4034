// <ResetQuota> -> ResetQuota (docs/policies.md#resetquota). Apigee nests the amount in the identifier:
// <Quota name="Q"><Identifier ref="client_id"><Allow>100</Allow></Identifier></Quota>.
import { compact, int, refOrText, type PolicyConverter } from './support.ts';

export const resetQuotaConverter: PolicyConverter = {
  type: 'ResetQuota',
  convert(el, ctx) {
    const quota = el.all('Quota').flatMap((q) => {
      const apigeeName = q.attr('name');
      const name = apigeeName === undefined ? undefined : ctx.policyName(apigeeName);
      if (!name) {
        ctx.unsupported(q.xpath, `names no Quota policy of this bundle (${apigeeName ?? 'no name'})`);
        return [];
      }
      const id = q.child('Identifier');
      const idName = id?.attr('name');
      return [
        compact({
          name,
          identifier: id
            ? refOrText(id, ctx, (t) => t, { text: idName === undefined || idName === '_default' ? '' : idName })
            : undefined,
          allow: refOrText(id?.child('Allow'), ctx, (t, x) => int(t, x, ctx, { min: 0, max: 1e9 })),
        }),
      ];
    });
    if (quota.length === 0) return undefined;
    return { quota };
  },
};
