// Quota: at most `allow` requests per `interval` `timeUnit`, counted per identifier (DESIGN 4, 4a).
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type ConfigProblem, type RefOr } from '../schema.ts';
import { identifierSchema, messageWeightSchema, TIME_UNITS, type TimeUnit } from './rate-limit-common.ts';

export type QuotaType = 'calendar' | 'rollingwindow' | 'flexi';

export interface QuotaConfig {
  /** calendar (default): windows aligned to startTime (or to the clock); rollingwindow: the last interval; flexi: from the first request. */
  type?: QuotaType;
  /** Requests allowed per window; required unless useProductQuota. */
  allow?: RefOr<number>;
  interval?: RefOr<number>;
  timeUnit?: RefOr<TimeUnit>;
  /** ISO 8601 instant the calendar windows are aligned to, e.g. "2026-01-01T08:00:00Z". */
  startTime?: string;
  identifier?: RefOr<string>;
  messageWeight?: RefOr<number>;
  /** Count across every replica in the shared store (default true); false: each replica counts alone. */
  distributed?: boolean;
  /** Check the shared count on every request (default true); false: count locally, sync periodically. */
  synchronous?: boolean;
  asynchronousConfiguration?: { syncIntervalInSeconds?: number; syncMessageCount?: number };
  /** Take allow, interval and timeUnit from the API product VerifyAPIKey resolved (config values are the default). */
  useProductQuota?: boolean;
}

export const quota: PolicyTypeSpec = {
  type: 'Quota',
  member: 'quota',
  group: 'traffic',
  schema: {
    type: 'object',
    properties: {
      type: { type: 'string', enum: ['calendar', 'rollingwindow', 'flexi'], default: 'calendar' },
      allow: refOr({ type: 'integer', minimum: 0, maximum: 1_000_000_000, description: 'requests allowed per window' }),
      interval: refOr({
        type: 'integer',
        minimum: 1,
        maximum: 1_000_000,
        description: 'window length in timeUnits; default 1',
      }),
      timeUnit: refOr({
        type: 'string',
        enum: TIME_UNITS,
        description: 'second, minute (default), hour, day, week or month',
      }),
      startTime: { type: 'string', maxLength: 64, description: 'calendar windows start at this ISO 8601 instant' },
      identifier: identifierSchema,
      messageWeight: messageWeightSchema,
      distributed: { type: 'boolean', default: true },
      synchronous: { type: 'boolean', default: true },
      asynchronousConfiguration: {
        type: 'object',
        properties: {
          syncIntervalInSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
          syncMessageCount: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        },
      },
      useProductQuota: { type: 'boolean', default: false },
    },
  },
  needsBody: () => false,
  validate: (config) => {
    const c = config as QuotaConfig;
    const problems: ConfigProblem[] = [];
    if (c.allow === undefined && !c.useProductQuota)
      problems.push({ path: 'allow', message: 'allow is required unless useProductQuota is true' });
    if (c.startTime !== undefined && (c.type ?? 'calendar') !== 'calendar')
      problems.push({ path: 'startTime', message: 'startTime applies to calendar quotas only' });
    if (c.startTime !== undefined && Number.isNaN(Date.parse(c.startTime)))
      problems.push({ path: 'startTime', message: `"${c.startTime}" is not an ISO 8601 date-time` });
    return problems;
  },
};
