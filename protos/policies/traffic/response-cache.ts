// ResponseCache: answers a request from the cache at the request phase, and stores the upstream's
// response at the response phase (DESIGN 4). Needs the response body buffered.
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import type { RefOr } from '../schema.ts';
import {
  cacheTargetProperties,
  expiryProblems,
  expirySchema,
  flagSchema,
  type CacheExpiryConfig,
  type CacheTarget,
} from './cache-common.ts';

export interface ResponseCacheConfig extends CacheTarget {
  expiry?: CacheExpiryConfig;
  /** When true the cache is not read for this request (the response may still be stored). */
  skipCacheLookup?: RefOr<boolean>;
  /** When true the response is not stored. */
  skipCachePopulation?: RefOr<boolean>;
  /** Default true: 4xx and 5xx responses are not stored. */
  excludeErrorResponse?: boolean;
  /** Cache-Control (no-store, private, s-maxage, max-age) and Expires decide whether and how long. */
  useResponseCacheHeaders?: boolean;
  /** Different Accept, Accept-Encoding and Accept-Language values get different entries. */
  useAcceptHeader?: boolean;
}

export const responseCache: PolicyTypeSpec = {
  type: 'ResponseCache',
  member: 'responseCache',
  group: 'traffic',
  schema: {
    type: 'object',
    required: ['cacheKey'],
    properties: {
      ...cacheTargetProperties,
      expiry: expirySchema,
      skipCacheLookup: flagSchema('skip the lookup'),
      skipCachePopulation: flagSchema('skip storing the response'),
      excludeErrorResponse: { type: 'boolean', default: true },
      useResponseCacheHeaders: { type: 'boolean', default: false },
      useAcceptHeader: { type: 'boolean', default: false },
    },
  },
  needsBody: (config, phase) =>
    phase === 'response' ||
    readsBodyVariable(phase, { names: ((config as ResponseCacheConfig).cacheKey.keyFragments ?? []).map(refName) }),
  validate: (config) => expiryProblems((config as ResponseCacheConfig).expiry),
};
