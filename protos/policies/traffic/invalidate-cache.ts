// InvalidateCache: removes a cache entry, or with purgeChildEntries every entry under the key (DESIGN 4).
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { cacheTargetProperties, type CacheTarget } from './cache-common.ts';

export interface InvalidateCacheConfig extends CacheTarget {
  purgeChildEntries?: boolean;
}

export const invalidateCache: PolicyTypeSpec = {
  type: 'InvalidateCache',
  member: 'invalidateCache',
  group: 'traffic',
  schema: {
    type: 'object',
    required: ['cacheKey'],
    properties: { ...cacheTargetProperties, purgeChildEntries: { type: 'boolean', default: false } },
  },
  needsBody: (config, phase) =>
    readsBodyVariable(phase, { names: ((config as InvalidateCacheConfig).cacheKey.keyFragments ?? []).map(refName) }),
};
