// PopulateCache (docs/policies.md): stores the `source` variable's value under the key until its expiry.
// An unset source stores nothing, as in Apigee.
import {
  populateCache as populateCacheSpec,
  type PopulateCacheConfig,
} from '../../../../protos/policies/traffic/populate-cache.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { bestEffort, cacheKey, expiryTtlMs } from './cache-support.ts';

export const populateCachePolicy: PolicyImplementation<PopulateCacheConfig> = {
  type: 'PopulateCache',
  create(config, meta) {
    checkConfig(populateCacheSpec, config, meta);
    return async (ctx) => {
      const value = ctx.variables.get(config.source);
      const ttlMs = expiryTtlMs(ctx, config.expiry);
      if (value === undefined || value === null || ttlMs <= 0) return undefined;
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      await bestEffort(
        ctx,
        'populate',
        () => ctx.stores.cache.set(cacheKey(ctx, meta, config), Buffer.from(text, 'utf8'), ttlMs),
        undefined,
      );
      return undefined;
    };
  },
};
