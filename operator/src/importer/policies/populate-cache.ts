// <PopulateCache> -> PopulateCache (docs/policies.md#populatecache).
import { cacheTarget, expiry } from './cache-common.ts';
import { compact, type PolicyConverter } from './support.ts';

export const populateCacheConverter: PolicyConverter = {
  type: 'PopulateCache',
  convert(el, ctx) {
    const target = cacheTarget(el, ctx);
    const source = el.childText('Source');
    if (!source) ctx.unsupported(el.xpath, 'no <Source> variable');
    return target && source
      ? compact({ ...target, source, expiry: expiry(el.child('ExpirySettings'), ctx) })
      : undefined;
  },
};
