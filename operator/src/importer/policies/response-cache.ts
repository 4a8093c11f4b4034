// <ResponseCache> -> ResponseCache (docs/policies.md#responsecache).
import type { XmlElement } from '../xml.ts';
import { cacheTarget, expiry } from './cache-common.ts';
import { bool, compact, type PolicyContext, type PolicyConverter } from './support.ts';

/** Apigee's SkipCacheLookup is a condition; Gatehouse takes true/false or one variable. */
function skip(el: XmlElement | undefined, ctx: PolicyContext) {
  if (!el || el.text === '') return undefined;
  const t = el.text;
  if (t === 'true' || t === 'false') return t === 'true';
  if (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(t)) return { ref: t };
  ctx.unsupported(
    el.xpath,
    `the condition "${t}": Gatehouse takes true, false or one variable; compute it into a variable first`,
  );
  return undefined;
}

export const responseCacheConverter: PolicyConverter = {
  type: 'ResponseCache',
  convert(el, ctx) {
    const target = cacheTarget(el, ctx);
    if (!target) return undefined;
    return compact({
      ...target,
      expiry: expiry(el.child('ExpirySettings'), ctx),
      skipCacheLookup: skip(el.child('SkipCacheLookup'), ctx),
      skipCachePopulation: skip(el.child('SkipCachePopulation'), ctx),
      excludeErrorResponse: bool(el.child('ExcludeErrorResponse'), ctx),
      useResponseCacheHeaders: bool(el.child('UseResponseCacheHeaders'), ctx),
      useAcceptHeader: bool(el.child('UseAcceptHeader'), ctx),
    });
  },
};
