// ResetQuota: gives back quota to a Quota policy's counter for one identifier (DESIGN 4).
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type RefOr } from '../schema.ts';
import { identifierSchema } from './rate-limit-common.ts';

export interface ResetQuotaConfig {
  quota: Array<{
    /** The Quota policy's name (in the same namespace). */
    name: string;
    /** The identifier whose count is reset; default the Quota's default identifier. */
    identifier?: RefOr<string>;
    /** How much to take off the count; default all of it. */
    allow?: RefOr<number>;
  }>;
}

export const resetQuota: PolicyTypeSpec = {
  type: 'ResetQuota',
  member: 'resetQuota',
  group: 'traffic',
  schema: {
    type: 'object',
    required: ['quota'],
    properties: {
      quota: {
        type: 'array',
        minItems: 1,
        maxItems: 32,
        items: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 253 },
            identifier: identifierSchema,
            allow: refOr({ type: 'integer', minimum: 0, maximum: 1_000_000_000, description: 'count to take off' }),
          },
        },
      },
    },
  },
  needsBody: () => false,
};
