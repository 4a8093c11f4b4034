// InvalidateCache: removes a cache entry, or with purgeChildEntries every entry under the key (docs/policies.md).
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
    description: 'InvalidateCache: removes a cache entry, or every entry under a key. Apigee: <InvalidateCache>.',
    required: ['cacheKey'],
    properties: {
      ...cacheTargetProperties,
      purgeChildEntries: {
        type: 'boolean',
        default: false,
        description:
          'true: delete every entry whose key starts with this key (a prefix or a scope without fragments purges that part of the cache); default false. Apigee: <PurgeChildEntries>.',
      },
    },
  },
  needsBody: (config, phase) =>
    readsBodyVariable(phase, { names: ((config as InvalidateCacheConfig).cacheKey.keyFragments ?? []).map(refName) }),
};
