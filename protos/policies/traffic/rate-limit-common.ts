// Pieces the Quota, SpikeArrest and ResetQuota schemas share.
import { refOr, type JSONSchema } from '../schema.ts';

export const TIME_UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

/** The literal form of an identifier, for policies that describe it their own way. */
export const identifierLiteral: JSONSchema = { type: 'string', maxLength: 1024 };

export const identifierSchema: JSONSchema = refOr({
  ...identifierLiteral,
  description:
    'What requests are counted per, usually a ref such as client_id or client.ip (at most 1024 characters); absent, or a ref that resolves to nothing or "": one count for all (_default). Apigee: <Identifier ref>.',
});
export const messageWeightSchema: JSONSchema = refOr({
  type: 'integer',
  minimum: 1,
  maximum: 1_000_000,
  description: 'How much one request counts, an integer from 1 to 1,000,000; default 1. Apigee: <MessageWeight ref>.',
});
