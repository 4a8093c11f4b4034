// SpikeArrest: smooths traffic to `rate` (docs/policies.md): "10ps" lets one request through every
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
    description:
      'SpikeArrest: smooths traffic to rate; a request over it is refused with 429 policies.ratelimit.SpikeArrestViolation. Apigee: <SpikeArrest>.',
    required: ['rate'],
    properties: {
      rate: refOr({
        type: 'string',
        pattern: RATE_PATTERN,
        description:
          'Requests allowed per second or per minute: a whole number from 1 to 999,999,999 followed by ps or pm (10ps, 600pm), the forms Apigee accepts. Apigee: <Rate>.',
      }),
      identifier: identifierSchema,
      messageWeight: messageWeightSchema,
      useEffectiveCount: {
        type: 'boolean',
        default: false,
        description:
          'false (default): the rate is cut into slots, one request per 1/rate (10ps admits one request every 100 ms); true: a token bucket of rate tokens refilled evenly over the second or minute, so the whole rate may arrive at once. Apigee: <UseEffectiveCount>.',
      },
    },
  },
  needsBody: () => false,
};
