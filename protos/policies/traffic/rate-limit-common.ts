// Pieces the Quota, SpikeArrest and ResetQuota schemas share.
import { refOr, type JSONSchema } from '../schema.ts';

export const TIME_UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

export const identifierSchema: JSONSchema = refOr({
  type: 'string',
  maxLength: 1024,
  description: 'what the count is kept per (client_id, client.ip, ...); default one count for all',
});
export const messageWeightSchema: JSONSchema = refOr({
  type: 'integer',
  minimum: 1,
  maximum: 1_000_000,
  description: 'how much one request counts; default 1',
});
