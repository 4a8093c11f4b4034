// PopulateCache: stores a flow variable's value in the cache (docs/policies.md).
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import {
  cacheTargetProperties,
  expiryProblems,
  expirySchema,
  type CacheExpiryConfig,
  type CacheTarget,
} from './cache-common.ts';

export interface PopulateCacheConfig extends CacheTarget {
  /** The variable whose value is stored. */
  source: string;
  expiry?: CacheExpiryConfig;
}

export const populateCache: PolicyTypeSpec = {
  type: 'PopulateCache',
  member: 'populateCache',
  group: 'traffic',
  schema: {
    type: 'object',
    description: "PopulateCache: stores a flow variable's value in the cache. Apigee: <PopulateCache>.",
    required: ['cacheKey', 'source'],
    properties: {
      ...cacheTargetProperties,
      source: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description:
          'The flow variable whose value is stored (other than strings as JSON); an unset variable stores nothing. Apigee: <Source>.',
      },
      expiry: expirySchema,
    },
  },
  needsBody: (config, phase) => {
    const c = config as PopulateCacheConfig;
    return readsBodyVariable(phase, { names: [c.source, ...(c.cacheKey.keyFragments ?? []).map(refName)] });
  },
  validate: (config) => expiryProblems((config as PopulateCacheConfig).expiry),
};
