// LookupCache: reads a cache entry into a flow variable (DESIGN 4).
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { cacheTargetProperties, type CacheTarget } from './cache-common.ts';

export interface LookupCacheConfig extends CacheTarget {
  /** The variable the cached value is written to. */
  assignTo: string;
}

export const lookupCache: PolicyTypeSpec = {
  type: 'LookupCache',
  member: 'lookupCache',
  group: 'traffic',
  schema: {
    type: 'object',
    required: ['cacheKey', 'assignTo'],
    properties: { ...cacheTargetProperties, assignTo: { type: 'string', minLength: 1, maxLength: 256 } },
  },
  needsBody: (config, phase) =>
    readsBodyVariable(phase, { names: ((config as LookupCacheConfig).cacheKey.keyFragments ?? []).map(refName) }),
};
