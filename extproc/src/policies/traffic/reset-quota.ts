// ResetQuota (docs/policies.md): takes `allow` off (or clears) a Quota policy's current count for one
// identifier, e.g. to give a client its quota back after an upstream failure.
import type { ResetQuotaConfig } from '../../../../protos/policies/traffic/reset-quota.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { configFault, quotaKey, resolveCount, resolveIdentifier, withStore } from './support.ts';

export const resetQuotaPolicy: PolicyImplementation<ResetQuotaConfig> = {
  type: 'ResetQuota',
  create(config, meta) {
    return async (ctx) => {
      for (const target of config.quota) {
        const amount = target.allow === undefined ? undefined : resolveCount(ctx, target.allow, 0);
        if (target.allow !== undefined && amount === undefined) {
          throw configFault(
            'policies.resetquota.InvalidRLPolicy',
            `ResetQuota ${meta.name}: the allow count for ${target.name} does not resolve to a number`,
          );
        }
        const key = quotaKey(ctx, meta.namespace, target.name, resolveIdentifier(ctx, target.identifier));
        await withStore(() => ctx.stores.counters.reset(key, amount));
      }
      return undefined;
    };
  },
};
