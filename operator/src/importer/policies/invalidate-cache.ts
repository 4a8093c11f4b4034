// <InvalidateCache> -> InvalidateCache (docs/policies.md#invalidatecache).
import { cacheTarget } from './cache-common.ts';
import { bool, compact, type PolicyConverter } from './support.ts';

export const invalidateCacheConverter: PolicyConverter = {
  type: 'InvalidateCache',
  convert(el, ctx) {
    const target = cacheTarget(el, ctx);
    const context = el.child('CacheContext');
    if (context) ctx.unsupported(context.consume().xpath, "another proxy's cache context has no counterpart");
    return target ? compact({ ...target, purgeChildEntries: bool(el.child('PurgeChildEntries'), ctx) }) : undefined;
  },
};
