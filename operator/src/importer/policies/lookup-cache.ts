// <LookupCache> -> LookupCache (docs/policies.md#lookupcache).
import { cacheTarget } from './cache-common.ts';
import type { PolicyConverter } from './support.ts';

export const lookupCacheConverter: PolicyConverter = {
  type: 'LookupCache',
  convert(el, ctx) {
    const target = cacheTarget(el, ctx);
    const assignTo = el.childText('AssignTo');
    if (!assignTo) ctx.unsupported(el.xpath, 'no <AssignTo> variable');
    return target && assignTo ? { ...target, assignTo } : undefined;
  },
};
