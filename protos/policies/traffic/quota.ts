// Quota: at most `allow` requests per `interval` `timeUnit`, counted per identifier (docs/policies.md).
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
    description:
      'Quota: at most allow requests per interval × timeUnit, counted per identifier; over the limit a request is refused with 429 policies.ratelimit.QuotaViolation. Apigee: <Quota>.',
    properties: {
      type: {
        type: 'string',
        enum: ['calendar', 'rollingwindow', 'flexi'],
        default: 'calendar',
        description:
          "How windows are placed: calendar (default) fixed windows aligned to startTime or to the clock; rollingwindow the last interval; flexi a window that starts at the identifier's first request. Apigee: the type attribute.",
      },
      allow: refOr({
        type: 'integer',
        minimum: 0,
        maximum: 1_000_000_000,
        description:
          'Requests allowed per window, an integer from 0 to 1,000,000,000 (0 refuses every request); required unless useProductQuota. Apigee: <Allow count> (countRef for a ref).',
      }),
      interval: refOr({
        type: 'integer',
        minimum: 1,
        maximum: 1_000_000,
        description: 'Window length in timeUnits, an integer from 1 to 1,000,000; default 1. Apigee: <Interval>.',
      }),
      timeUnit: refOr({
        type: 'string',
        enum: TIME_UNITS,
        description: 'Unit of interval: second, minute (default), hour, day, week or month. Apigee: <TimeUnit>.',
      }),
      startTime: {
        type: 'string',
        maxLength: 64,
        description:
          'ISO 8601 instant the calendar windows are aligned to, e.g. 2026-01-01T08:00:00Z; calendar only; default aligned to the clock (UTC minute, hour, day, Monday, 1st of the month). Apigee: <StartTime>, written yyyy-MM-dd HH:mm:ss there.',
      },
      identifier: identifierSchema,
      messageWeight: messageWeightSchema,
      distributed: {
        type: 'boolean',
        default: true,
        description:
          "true (default): one count shared by every extproc replica, in the DataPlane's Redis; false: each replica counts alone, in memory. Apigee: <Distributed>.",
      },
      synchronous: {
        type: 'boolean',
        default: true,
        description:
          'true (default): every request checks the shared count; false: requests are judged against the last synced view and counts are pushed in the background (asynchronousConfiguration). Apigee: <Synchronous>.',
      },
      asynchronousConfiguration: {
        type: 'object',
        description: 'How often counts are synced when synchronous is false. Apigee: <AsynchronousConfiguration>.',
        properties: {
          syncIntervalInSeconds: {
            type: 'integer',
            minimum: 1,
            maximum: 3600,
            description: 'Seconds between syncs, 1 to 3600; default 10. Apigee: <SyncIntervalInSeconds>.',
          },
          syncMessageCount: {
            type: 'integer',
            minimum: 1,
            maximum: 1_000_000,
            description:
              'Also sync after this many counted requests, 1 to 1,000,000; default only by time. Apigee: <SyncMessageCount>.',
          },
        },
      },
      useProductQuota: {
        type: 'boolean',
        default: false,
        description:
          "true: allow, interval and timeUnit come from the ApiProduct VerifyAPIKey resolved (apiproduct.developer.quota.*), this policy's values being the fallback; default false. Apigee: <UseQuotaConfigInAPIProduct>.",
      },
    },
    'x-kubernetes-validations': [
      {
        rule: "!has(self.startTime) || !has(self.type) || self.type == 'calendar'",
        message: 'startTime applies to calendar quotas only',
        fieldPath: '.startTime',
      },
    ],
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
