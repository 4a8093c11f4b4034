// Quota (docs/policies.md; Apigee semantics): at most `allow` requests (weighted by messageWeight) per
// window and identifier. calendar windows align to startTime, rollingwindow looks back one interval,
// flexi starts at the identifier's first request. Distributed quotas count in the shared store
// (Redis: one atomic script per request, which the flow compiler may merge with a SpikeArrest's; or a
// periodic sync when asynchronous); non-distributed ones count per replica. Sets ratelimit.{name}.*; over the limit: 429 policies.ratelimit.QuotaViolation.
import { quota as quotaSpec, type QuotaConfig } from '../../../../protos/policies/traffic/quota.ts';
import { TIME_UNITS, type TimeUnit } from '../../../../protos/policies/traffic/rate-limit-common.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation } from '../../flow/types.ts';
import { createMemoryStores } from '../../stores/memory.ts';
import type { QuotaRequest, QuotaResult, WindowKind } from '../../stores/types.ts';
import { checkConfig } from '../support.ts';
import { AsyncQuotaCounter } from './quota-async.ts';
import {
  admissionStep,
  configFault,
  quotaKey,
  resolveCount,
  resolveIdentifier,
  resolveWeight,
  withStore,
} from './support.ts';
import { defaultAnchor, windowAt, windowLengthMs } from './windows.ts';

const KINDS: Record<NonNullable<QuotaConfig['type']>, WindowKind> = {
  calendar: 'fixed',
  rollingwindow: 'sliding',
  flexi: 'flexi',
};
const DEFAULT_SYNC_INTERVAL_S = 10;

interface Limits {
  allow: number;
  interval: number;
  unit: TimeUnit;
}

function isTimeUnit(value: unknown): value is TimeUnit {
  return typeof value === 'string' && (TIME_UNITS as readonly string[]).includes(value);
}

/** allow, interval and timeUnit from the config, or from the product VerifyAPIKey resolved. */
function resolveLimits(ctx: PolicyContext, config: QuotaConfig): Limits {
  const product = config.useProductQuota
    ? {
        allow: ctx.variables.getString('apiproduct.developer.quota.limit'),
        interval: ctx.variables.getString('apiproduct.developer.quota.interval'),
        unit: ctx.variables.getString('apiproduct.developer.quota.timeunit')?.toLowerCase(),
      }
    : undefined;
  const allow = resolveCount(ctx, product?.allow ?? config.allow, 0);
  if (allow === undefined)
    throw configFault('policies.ratelimit.FailedToResolveAllowCountReference', 'Failed to resolve the allow count');
  const interval = resolveCount(ctx, product?.interval ?? config.interval ?? 1);
  if (interval === undefined)
    throw configFault(
      'policies.ratelimit.FailedToResolveQuotaIntervalReference',
      'Failed to resolve the quota interval',
    );
  const unit = product?.unit ?? ctx.variables.resolve(config.timeUnit ?? 'minute');
  if (!isTimeUnit(unit))
    throw configFault(
      'policies.ratelimit.FailedToResolveQuotaIntervalTimeUnitReference',
      'Failed to resolve the quota time unit',
    );
  return { allow, interval, unit };
}

function request(
  kind: WindowKind,
  anchorMs: number | undefined,
  limits: Limits,
  key: string,
  weight: number,
  nowMs: number,
): QuotaRequest {
  const { allow, interval, unit } = limits;
  if (kind === 'fixed') {
    const w = windowAt(nowMs, interval, unit, anchorMs ?? defaultAnchor(unit));
    return { key, kind, weight, limit: allow, windowMs: w.endMs - w.startMs, windowStartMs: w.startMs, nowMs };
  }
  const windowMs = windowLengthMs(interval, unit);
  return { key, kind, weight, limit: allow, windowMs, windowStartMs: Math.floor(nowMs / windowMs) * windowMs, nowMs };
}

/** Sets ratelimit.{name}.*; over the limit, throws the QuotaViolation fault. */
function settle(ctx: PolicyContext, name: string, req: QuotaRequest, result: QuotaResult): void {
  const { weight, limit: allow } = req;
  const prefix = `ratelimit.${name}`;
  const v = ctx.variables;
  v.set(`${prefix}.allowed.count`, allow);
  v.set(`${prefix}.used.count`, result.used);
  v.set(`${prefix}.available.count`, Math.max(0, allow - result.used));
  v.set(`${prefix}.exceed.count`, result.admitted ? 0 : Math.max(1, result.used + weight - allow));
  v.set(`${prefix}.expiry.time`, result.windowEndMs);
  v.set(`${prefix}.failed`, !result.admitted);
  if (!result.admitted) {
    const retryAfterS = Math.max(1, Math.ceil((result.windowEndMs - req.nowMs) / 1000));
    throw new PolicyFault({
      status: 429,
      errorCode: 'policies.ratelimit.QuotaViolation',
      faultString: `Rate limit quota violation. Quota limit exceeded. Identifier : ${name}`,
      headers: { 'retry-after': String(retryAfterS) },
    });
  }
}

export const quotaPolicy: PolicyImplementation<QuotaConfig> = {
  type: 'Quota',
  create(config, meta) {
    checkConfig(quotaSpec, config, meta);
    const kind = KINDS[config.type ?? 'calendar'];
    const anchorMs = config.startTime === undefined ? undefined : Date.parse(config.startTime);
    // Not distributed: every replica counts on its own, as Apigee's message processors do. Its
    // entries expire by the requests' clock (ctx.now), the one the windows are computed with.
    let lastNow = 0;
    const perReplica = config.distributed === false ? createMemoryStores(() => lastNow) : undefined;
    const sync = config.asynchronousConfiguration;
    const asyncCounter =
      config.synchronous === false
        ? new AsyncQuotaCounter(
            (sync?.syncIntervalInSeconds ?? DEFAULT_SYNC_INTERVAL_S) * 1000,
            sync?.syncMessageCount ?? Number.MAX_SAFE_INTEGER,
          )
        : undefined;

    const plan = (ctx: PolicyContext): QuotaRequest => {
      const limits = resolveLimits(ctx, config);
      const weight = resolveWeight(ctx, config.messageWeight);
      const key = quotaKey(ctx, meta.namespace, meta.name, resolveIdentifier(ctx, config.identifier));
      const req = request(kind, anchorMs, limits, key, weight, ctx.now());
      lastNow = req.nowMs;
      return req;
    };
    // Counted on the shared store, one call per request: the flow compiler may merge it with its
    // neighbours (admission).
    if (!perReplica && !asyncCounter) {
      return admissionStep({
        plan(ctx) {
          const req = plan(ctx);
          return {
            op: { kind: 'quota', request: req },
            settle(outcome) {
              if (outcome.kind !== 'quota') throw new TypeError('a Quota admission settled with a bucket answer');
              settle(ctx, meta.name, req, outcome);
            },
          };
        },
      });
    }
    return async (ctx) => {
      const req = plan(ctx);
      const counters = perReplica?.counters ?? ctx.stores.counters;
      settle(
        ctx,
        meta.name,
        req,
        asyncCounter ? asyncCounter.consume(counters, req, ctx.log) : await withStore(() => counters.consume(req)),
      );
      return undefined;
    };
  },
};
