// Pieces the ResponseCache, LookupCache, PopulateCache and InvalidateCache schemas share: how a cache
// key is built and when an entry expires (Apigee's CacheKey, Scope and ExpirySettings).
import { refOr, type ConfigProblem, type JSONSchema, type RefOr } from '../schema.ts';

export type CacheScope = 'Exclusive' | 'Application' | 'Proxy' | 'Target' | 'Global';

export interface CacheKeyConfig {
  /** Replaces the scope part of the key when set (as Apigee's Prefix does). */
  prefix?: string;
  keyFragments?: Array<RefOr<string>>;
}

export interface CacheExpiryConfig {
  timeoutSeconds?: RefOr<number>;
  /** "HH:mm:ss" UTC: entries expire at the next such time. */
  timeOfDay?: string;
  /** "MM-dd-yyyy": entries expire at the start of that day, UTC. */
  expiryDate?: string;
}

export interface CacheTarget {
  cacheKey: CacheKeyConfig;
  /** Default Exclusive. */
  scope?: CacheScope;
  /** A named cache; entries of different resources never meet. */
  cacheResource?: string;
}

export const cacheTargetProperties: Record<string, JSONSchema> = {
  cacheKey: {
    type: 'object',
    properties: {
      prefix: { type: 'string', minLength: 1, maxLength: 256 },
      keyFragments: {
        type: 'array',
        maxItems: 16,
        items: refOr({ type: 'string', maxLength: 1024, description: 'a key fragment' }),
      },
    },
  },
  scope: { type: 'string', enum: ['Exclusive', 'Application', 'Proxy', 'Target', 'Global'], default: 'Exclusive' },
  cacheResource: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' },
};

export const expirySchema: JSONSchema = {
  type: 'object',
  description: 'one of timeoutSeconds, timeOfDay, expiryDate',
  properties: {
    timeoutSeconds: refOr({ type: 'integer', minimum: 1, maximum: 31_536_000, description: 'seconds an entry lives' }),
    timeOfDay: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$' },
    expiryDate: { type: 'string', pattern: '^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])-[0-9]{4}$' },
  },
};

/** A boolean, or {ref: VARIABLE} read as a boolean ("true", true, non-zero). */
export const flagSchema = (description: string): JSONSchema => refOr({ type: 'boolean', description });

export function expiryProblems(expiry: CacheExpiryConfig | undefined, path = 'expiry'): ConfigProblem[] {
  if (expiry === undefined) return [];
  const set = [expiry.timeoutSeconds, expiry.timeOfDay, expiry.expiryDate].filter((v) => v !== undefined).length;
  return set > 1 ? [{ path, message: 'set only one of timeoutSeconds, timeOfDay and expiryDate' }] : [];
}
