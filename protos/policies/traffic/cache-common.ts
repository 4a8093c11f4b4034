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
    description:
      "How the entry's key is built: <namespace>/<cacheResource>/, then prefix and __ (or the scope part), then the fragments joined by __. Apigee: <CacheKey>.",
    properties: {
      prefix: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description: 'Replaces the scope part of the key (1 to 256 characters). Apigee: <Prefix>.',
      },
      keyFragments: {
        type: 'array',
        maxItems: 16,
        description: 'Parts of the key, joined with __ (at most 16). Apigee: <KeyFragment> elements.',
        items: refOr({
          type: 'string',
          maxLength: 1024,
          description: 'A literal key fragment (at most 1024 characters). Apigee: <KeyFragment>.',
        }),
      },
    },
  },
  scope: {
    type: 'string',
    enum: ['Exclusive', 'Application', 'Proxy', 'Target', 'Global'],
    default: 'Exclusive',
    description:
      "The key's prefix when cacheKey.prefix is not set: Exclusive (default) <proxy>__exclusive__, Application <proxy>__, Proxy <proxy>__proxy__, Target <proxy>__target__, Global none. Apigee: <Scope>.",
  },
  cacheResource: {
    type: 'string',
    minLength: 1,
    maxLength: 128,
    pattern: '^[A-Za-z0-9._-]+$',
    description:
      'A named partition of the cache (letters, digits, ., _ and -; at most 128); entries of different resources never meet; default _. Apigee: <CacheResource>, here only a key partition.',
  },
};

export const expirySchema: JSONSchema = {
  type: 'object',
  description:
    'When stored entries expire: at most one of timeoutSeconds, timeOfDay or expiryDate; absent: after 300 seconds. Apigee: <ExpirySettings>.',
  properties: {
    timeoutSeconds: refOr({
      type: 'integer',
      minimum: 1,
      maximum: 31_536_000,
      description: 'Seconds an entry lives, 1 to 31,536,000 (a year); default 300. Apigee: <TimeoutInSeconds>.',
    }),
    timeOfDay: {
      type: 'string',
      pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$',
      description: 'HH:mm:ss, UTC: entries expire at the next such time of day. Apigee: <TimeOfDay>.',
    },
    expiryDate: {
      type: 'string',
      pattern: '^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])-[0-9]{4}$',
      description: 'MM-dd-yyyy: entries expire at the start of that day, UTC. Apigee: <ExpiryDate>.',
    },
  },
};

/** A boolean, or {ref: VARIABLE} read as a boolean ("true", true, non-zero). */
export const flagSchema = (description: string): JSONSchema => {
  const node = refOr({ type: 'boolean', description });
  return { ...node, description: `${node.description} It reads as true when true, "true" or a non-zero number.` };
};

export function expiryProblems(expiry: CacheExpiryConfig | undefined, path = 'expiry'): ConfigProblem[] {
  if (expiry === undefined) return [];
  const set = [expiry.timeoutSeconds, expiry.timeOfDay, expiry.expiryDate].filter((v) => v !== undefined).length;
  return set > 1 ? [{ path, message: 'set only one of timeoutSeconds, timeOfDay and expiryDate' }] : [];
}
