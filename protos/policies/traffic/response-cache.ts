// ResponseCache: answers a request from the cache at the request phase, and stores the upstream's
// response at the response phase (docs/policies.md). Needs the response body buffered.
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
    description:
      "ResponseCache: answers a request from the cache (request step) and stores the upstream's response (response step); put the same ApiPolicy in both. Apigee: <ResponseCache>.",
    required: ['cacheKey'],
    properties: {
      ...cacheTargetProperties,
      expiry: expirySchema,
      skipCacheLookup: flagSchema(
        'true: the cache is not read for this request (the response may still be stored); default false. Apigee: <SkipCacheLookup>, a condition there.',
      ),
      skipCachePopulation: flagSchema(
        'true: the response is not stored; default false. Apigee: <SkipCachePopulation>, a condition there.',
      ),
      excludeErrorResponse: {
        type: 'boolean',
        default: true,
        description:
          'true (default): responses with a status of 400 or more are not stored. Apigee: <ExcludeErrorResponse>.',
      },
      useResponseCacheHeaders: {
        type: 'boolean',
        default: false,
        description:
          "true: the response's Cache-Control (no-store, no-cache, private: not stored; s-maxage, then max-age) or Expires decides the lifetime; default false. Apigee: <UseResponseCacheHeaders>.",
      },
      useAcceptHeader: {
        type: 'boolean',
        default: false,
        description:
          'true: the Accept, Accept-Encoding, Accept-Language and Accept-Charset values become part of the key; default false. Apigee: <UseAcceptHeader>.',
      },
    },
  },
  needsBody: (config, phase) =>
    phase === 'response' ||
    readsBodyVariable(phase, { names: ((config as ResponseCacheConfig).cacheKey.keyFragments ?? []).map(refName) }),
  validate: (config) => expiryProblems((config as ResponseCacheConfig).expiry),
};
