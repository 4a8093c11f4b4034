// What the cache policies share: the cache key (Apigee's CacheKey + Scope, namespaced), the expiry
// of an entry, and treating an unavailable cache as a miss: a cache is an optimisation, so a request
// never fails because it is down (only InvalidateCache reports it, since a missed purge matters).
import type { CacheExpiryConfig, CacheScope, CacheTarget } from '../../../../protos/policies/traffic/cache-common.ts';
import type { PolicyContext, PolicyMeta } from '../../flow/types.ts';
import { StoreUnavailableError } from '../../stores/types.ts';
import { resolveCount } from './support.ts';

const DEFAULT_TIMEOUT_S = 300;
const DAY_MS = 86_400_000;

/**
 * The scope part of a key. Namespace and cache resource always come first, so scopes of different
 * proxies never meet and Application's prefix covers the Proxy, Target and Exclusive entries under it.
 */
function scopePart(scope: CacheScope, proxyName: string): string {
  switch (scope) {
    case 'Global':
      return '';
    case 'Application':
      return `${proxyName}__`;
    case 'Proxy':
      return `${proxyName}__proxy__`;
    case 'Target':
      return `${proxyName}__target__`;
    case 'Exclusive':
      return `${proxyName}__exclusive__`;
  }
}

/**
 * The full key: namespace/resource/(prefix__ | scope part) fragment__fragment... Fragments come from
 * the request (a URI, a client id, an Accept header), so each is only its keyed hash
 * (RuntimeIndex.hashStoreKey): the store never holds them in clear. Hashing each fragment on its own
 * keeps purges of child entries working: the key of fragments [a] is a prefix of the key of [a, b].
 */
export function cacheKey(ctx: PolicyContext, meta: PolicyMeta, target: CacheTarget, extra: string[] = []): string {
  const fragments = [
    ...(target.cacheKey.keyFragments ?? []).map((f) => String(ctx.variables.resolve(f) ?? '')),
    ...extra,
  ].map((f) => ctx.runtime.hashStoreKey(f));
  const head =
    target.cacheKey.prefix !== undefined
      ? `${target.cacheKey.prefix}__`
      : scopePart(target.scope ?? 'Exclusive', ctx.proxy.name);
  return `${meta.namespace}/${target.cacheResource ?? '_'}/${head}${fragments.join('__')}`;
}

/** Milliseconds until an entry expires under `expiry` (default 300 s); 0 or less: do not store. */
export function expiryTtlMs(ctx: PolicyContext, expiry: CacheExpiryConfig | undefined): number {
  const now = ctx.now();
  if (expiry?.timeOfDay !== undefined) {
    // The config schema's pattern admits only hh:mm:ss.
    const [h, m, s] = expiry.timeOfDay.split(':').map(Number) as [number, number, number];
    const today = Math.floor(now / DAY_MS) * DAY_MS + ((h * 60 + m) * 60 + s) * 1000;
    return (today > now ? today : today + DAY_MS) - now;
  }
  if (expiry?.expiryDate !== undefined) {
    // The config schema's pattern admits only mm-dd-yyyy.
    const [month, day, year] = expiry.expiryDate.split('-').map(Number) as [number, number, number];
    return Date.UTC(year, month - 1, day) - now;
  }
  const seconds = expiry?.timeoutSeconds === undefined ? DEFAULT_TIMEOUT_S : resolveCount(ctx, expiry.timeoutSeconds);
  return (seconds ?? DEFAULT_TIMEOUT_S) * 1000;
}

/** Runs a cache call; when the store is unavailable, logs and answers `whenDown` instead. */
export async function bestEffort<T>(ctx: PolicyContext, op: string, call: () => Promise<T>, whenDown: T): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    ctx.log.warn({ op }, 'cache store unavailable; treating as a miss');
    return whenDown;
  }
}
