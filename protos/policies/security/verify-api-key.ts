// VerifyAPIKey: the consumer key is known, its credential and app are approved and unexpired, and an
// approved product covers this proxy, path and method (DESIGN 4, 4a).
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type RefOr } from '../schema.ts';

export interface VerifyAPIKeyConfig {
  /** The consumer key, usually `{ref: request.header.x-api-key}` or `{ref: request.queryparam.apikey}`. */
  apiKey: RefOr<string>;
}

export const verifyAPIKey: PolicyTypeSpec = {
  type: 'VerifyAPIKey',
  member: 'verifyAPIKey',
  group: 'security',
  schema: {
    type: 'object',
    required: ['apiKey'],
    properties: {
      apiKey: refOr({ type: 'string', maxLength: 1024, description: 'the consumer key' }),
    },
  },
  needsBody: (config, phase) => readsBodyVariable(phase, { names: [refName((config as VerifyAPIKeyConfig).apiKey)] }),
};
