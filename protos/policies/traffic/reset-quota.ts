// ResetQuota: gives back quota to a Quota policy's counter for one identifier (docs/policies.md).
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type RefOr } from '../schema.ts';
import { identifierLiteral } from './rate-limit-common.ts';

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
    description:
      "ResetQuota: gives quota back, taking allow off (or clearing) a Quota policy's current count for one identifier. Apigee: <ResetQuota>.",
    required: ['quota'],
    properties: {
      quota: {
        type: 'array',
        minItems: 1,
        maxItems: 32,
        description: 'The counts to reset, 1 to 32. Apigee: <Quota> elements.',
        items: {
          type: 'object',
          description: "One Quota policy's count for one identifier.",
          required: ['name'],
          properties: {
            name: {
              type: 'string',
              minLength: 1,
              maxLength: 253,
              description:
                'Name of the Quota ApiPolicy in the same namespace (not checked to exist). Apigee: the name attribute.',
            },
            identifier: refOr({
              ...identifierLiteral,
              description:
                "The identifier whose count is reset, the value the Quota's identifier resolved to (at most 1024 characters); absent: _default. Apigee: <Identifier ref>.",
            }),
            allow: refOr({
              type: 'integer',
              minimum: 0,
              maximum: 1_000_000_000,
              description:
                'How much to take off the count (floor 0), an integer from 0 to 1,000,000,000; absent: the count is cleared. Apigee: <Allow>.',
            }),
          },
        },
      },
    },
  },
  needsBody: () => false,
};
