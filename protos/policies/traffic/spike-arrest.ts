// SpikeArrest: smooths traffic to `rate` (DESIGN 4, 4a): "10ps" lets one request through every
// 100 ms; with useEffectiveCount the whole rate may arrive at once within the interval.
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type RefOr } from '../schema.ts';
import { identifierSchema, messageWeightSchema } from './rate-limit-common.ts';

export const RATE_PATTERN = '^[1-9][0-9]{0,8}(ps|pm)$';

export interface SpikeArrestConfig {
  /** Requests per second ("10ps") or per minute ("600pm"). */
  rate: RefOr<string>;
  identifier?: RefOr<string>;
  messageWeight?: RefOr<number>;
  /** false (default): one request per 1/rate slot; true: a token bucket of `rate` refilled over the interval. */
  useEffectiveCount?: boolean;
}

export const spikeArrest: PolicyTypeSpec = {
  type: 'SpikeArrest',
  member: 'spikeArrest',
  group: 'traffic',
  schema: {
    type: 'object',
    required: ['rate'],
    properties: {
      rate: refOr({
        type: 'string',
        pattern: RATE_PATTERN,
        description: 'requests per second (10ps) or minute (600pm)',
      }),
      identifier: identifierSchema,
      messageWeight: messageWeightSchema,
      useEffectiveCount: { type: 'boolean', default: false },
    },
  },
  needsBody: () => false,
};
