// LookupCache: reads a cache entry into a flow variable (docs/policies.md).
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
    description: 'LookupCache: reads a cache entry into a flow variable. Apigee: <LookupCache>.',
    required: ['cacheKey', 'assignTo'],
    properties: {
      ...cacheTargetProperties,
      assignTo: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description:
          'The flow variable that receives the cached value (UTF-8 text) on a hit; left alone on a miss. Apigee: <AssignTo>.',
      },
    },
  },
  needsBody: (config, phase) =>
    readsBodyVariable(phase, { names: ((config as LookupCacheConfig).cacheKey.keyFragments ?? []).map(refName) }),
};
