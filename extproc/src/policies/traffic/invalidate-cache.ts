// InvalidateCache (docs/policies.md): removes the entry, or with purgeChildEntries every entry whose key
// starts with it (a prefix, or a scope with no fragments, purges that whole part of the cache).
import type { InvalidateCacheConfig } from '../../../../protos/policies/traffic/invalidate-cache.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { cacheKey } from './cache-support.ts';
import { withStore } from './support.ts';

export const invalidateCachePolicy: PolicyImplementation<InvalidateCacheConfig> = {
  type: 'InvalidateCache',
  create(config, meta) {
    return async (ctx) => {
      const key = cacheKey(ctx, meta, config);
      await withStore(() =>
        config.purgeChildEntries ? ctx.stores.cache.deletePrefix(key) : ctx.stores.cache.delete(key),
      );
      return undefined;
    };
  },
};
