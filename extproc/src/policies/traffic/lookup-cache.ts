// LookupCache (docs/policies.md): reads an entry into `assignTo`; sets lookupcache.{name}.cachehit.
import type { LookupCacheConfig } from '../../../../protos/policies/traffic/lookup-cache.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { bestEffort, cacheKey } from './cache-support.ts';

export const lookupCachePolicy: PolicyImplementation<LookupCacheConfig> = {
  type: 'LookupCache',
  create(config, meta) {
    return async (ctx) => {
      const key = cacheKey(ctx, meta, config);
      const value = await bestEffort(ctx, 'lookup', () => ctx.stores.cache.get(key), undefined);
      ctx.variables.set(`lookupcache.${meta.name}.cachehit`, value !== undefined);
      if (value !== undefined) ctx.variables.set(config.assignTo, value.toString('utf8'));
      return undefined;
    };
  },
};
