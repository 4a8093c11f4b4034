// VerifyAPIKey: the consumer key is known, its credential and app are approved and unexpired, and an
// approved product covers this proxy, path and method (docs/policies.md). The key is always read from the
// request: a literal one is refused (it would be a consumer key in clear in the snapshot).
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type RefOr } from '../schema.ts';

export interface VerifyAPIKeyConfig {
  /** The consumer key: `{ref: request.header.x-api-key}`, `{ref: request.queryparam.apikey}`, ... (a literal is refused). */
  apiKey: RefOr<string>;
}

export const verifyAPIKey: PolicyTypeSpec = {
  type: 'VerifyAPIKey',
  member: 'verifyAPIKey',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'VerifyAPIKey: the key must be an approved, unexpired credential of an approved DeveloperApp, one of whose approved ApiProducts covers this proxy, path and method; refused with 401. Apigee: <VerifyAPIKey>.',
    required: ['apiKey'],
    properties: {
      apiKey: refOr({
        type: 'string',
        maxLength: 1024,
        description:
          'The consumer key, usually {ref: request.header.x-api-key} or {ref: request.queryparam.apikey}; a literal (at most 1024 characters) is for tests. Apigee: <APIKey ref>.',
      }),
    },
  },
  needsBody: (config, phase) => readsBodyVariable(phase, { names: [refName((config as VerifyAPIKeyConfig).apiKey)] }),
  // The key is a consumer's credential: the snapshot holds consumer keys only as keyed hashes.
  validate: (config) =>
    typeof (config as VerifyAPIKeyConfig).apiKey === 'string'
      ? [
          {
            path: 'apiKey',
            message:
              'a literal API key would stand in the snapshot in clear: read it from the request with {ref: VARIABLE}',
          },
        ]
      : [],
};
