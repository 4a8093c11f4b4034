// SpikeArrest (docs/policies.md; Apigee semantics): `rate` requests per second or minute, smoothed. By
// default the rate is cut into slots: "10ps" admits one request per 100 ms and "30pm" one per 2 s, so
// a burst of two within a slot is refused. With useEffectiveCount the whole rate may be used at once
// and refills evenly over the interval (a token bucket of `rate`). Counted per identifier in the
// shared bucket store; over the rate: 429 policies.ratelimit.SpikeArrestViolation.
import { RATE_PATTERN, type SpikeArrestConfig } from '../../../../protos/policies/traffic/spike-arrest.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation } from '../../flow/types.ts';
import { admissionStep, configFault, resolveIdentifier, resolveWeight, spikeKey } from './support.ts';

const RATE = new RegExp(RATE_PATTERN);

export interface SpikeRate {
  /** Requests per interval. */
  count: number;
  intervalMs: number;
}

export function parseRate(text: string): SpikeRate | undefined {
  if (!RATE.test(text)) return undefined;
  return { count: Number(text.slice(0, -2)), intervalMs: text.endsWith('ps') ? 1_000 : 60_000 };
}

function resolveRate(ctx: PolicyContext, config: SpikeArrestConfig, literal: SpikeRate | undefined): SpikeRate {
  const rate = literal ?? parseRate(String(ctx.variables.resolve(config.rate) ?? '').trim());
  if (rate === undefined)
    throw configFault('policies.ratelimit.FailedToResolveSpikeArrestRate', 'Failed to resolve the spike arrest rate');
  return rate;
}

export const spikeArrestPolicy: PolicyImplementation<SpikeArrestConfig> = {
  type: 'SpikeArrest',
  create(config, meta) {
    const literal = typeof config.rate === 'string' ? parseRate(config.rate) : undefined;
    return admissionStep({
      plan(ctx) {
        const rate = resolveRate(ctx, config, literal);
        const weight = resolveWeight(ctx, config.messageWeight);
        const refillPerMs = rate.count / rate.intervalMs;
        // Smoothed: a bucket of one slot (or one message's weight), so requests are spaced 1/rate apart.
        const capacity = config.useEffectiveCount ? rate.count : Math.max(1, weight);
        const key = spikeKey(ctx, meta, resolveIdentifier(ctx, config.identifier));
        return {
          op: { kind: 'bucket', take: { key, weight, capacity, refillPerMs, nowMs: ctx.now() } },
          settle(outcome) {
            ctx.variables.set(`ratelimit.${meta.name}.failed`, !outcome.admitted);
            if (!outcome.admitted) {
              throw new PolicyFault({
                status: 429,
                errorCode: 'policies.ratelimit.SpikeArrestViolation',
                faultString: `Spike arrest violation. Allowed rate : ${rate.count}${rate.intervalMs === 1_000 ? 'ps' : 'pm'}`,
              });
            }
          },
        };
      },
    });
  },
};
