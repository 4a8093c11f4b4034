// GetOAuthV2Info, SetOAuthV2Info, DeleteOAuthV2Info: read, annotate and delete the tokens and codes
// OAuthV2 stored (docs/policies.md#getoauthv2info-setoauthv2info-deleteoauthv2info). Every token is
// read from a flow variable: a literal one would stand in the snapshot in clear.
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOr, type ConfigProblem, type JSONSchema, type RefOr } from '../schema.ts';
import type { OAuthAttribute } from './oauth-v2.ts';

export interface GetOAuthV2InfoConfig {
  accessToken?: RefOr<string>;
  refreshToken?: RefOr<string>;
  authorizationCode?: RefOr<string>;
  clientId?: RefOr<string>;
}

export interface SetOAuthV2InfoConfig {
  accessToken: RefOr<string>;
  attributes: OAuthAttribute[];
}

export interface DeleteOAuthV2InfoConfig {
  accessToken?: RefOr<string>;
  authorizationCode?: RefOr<string>;
}

const tokenRef = (what: string, apigee: string): JSONSchema =>
  refOr({ type: 'string', maxLength: 4096, description: `${what}: {ref: VARIABLE}. Apigee: <${apigee} ref>.` });

const attributes: JSONSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 32,
  description: 'Custom attributes to set on the token (added or replaced). Apigee: <Attributes>.',
  items: {
    type: 'object',
    description: 'One attribute.',
    required: ['name', 'value'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$', description: 'The name.' },
      value: refOr({ type: 'string', maxLength: 1024, description: 'The value (at most 1024 characters).' }),
      display: { type: 'boolean', description: 'Whether token responses show it (default false).' },
    },
  },
};

/** Exactly one of `members` is set, and none is a literal. */
function oneRef(config: Record<string, unknown>, members: readonly string[]): ConfigProblem[] {
  const set = members.filter((m) => config[m] !== undefined);
  const problems: ConfigProblem[] = [];
  if (set.length !== 1) problems.push({ path: members[0]!, message: `set exactly one of ${members.join(', ')}` });
  for (const m of set) {
    if (typeof config[m] === 'string')
      problems.push({ path: m, message: 'a literal token would stand in the snapshot in clear: use {ref: VARIABLE}' });
  }
  return problems;
}

const readsBody = (config: unknown, phase: 'request' | 'response') =>
  readsBodyVariable(phase, { names: Object.values(config as Record<string, unknown>).map(refName) });

const GET_MEMBERS = ['accessToken', 'refreshToken', 'authorizationCode', 'clientId'] as const;
const DELETE_MEMBERS = ['accessToken', 'authorizationCode'] as const;

export const getOAuthV2Info: PolicyTypeSpec = {
  type: 'GetOAuthV2Info',
  member: 'getOAuthV2Info',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'GetOAuthV2Info: sets the oauthv2accesstoken/oauthv2refreshtoken/oauthv2authcode/oauthv2client.{policy}.* variables of one token, code or client id. Apigee: <GetOAuthV2Info>.',
    properties: {
      accessToken: tokenRef('The access token', 'AccessToken'),
      refreshToken: tokenRef('The refresh token', 'RefreshToken'),
      authorizationCode: tokenRef('The authorization code', 'AuthorizationCode'),
      clientId: tokenRef('The client id (consumer key)', 'ClientId'),
    },
  },
  needsBody: readsBody,
  validate: (config) => oneRef(config as Record<string, unknown>, GET_MEMBERS),
};

export const setOAuthV2Info: PolicyTypeSpec = {
  type: 'SetOAuthV2Info',
  member: 'setOAuthV2Info',
  group: 'security',
  schema: {
    type: 'object',
    description:
      "SetOAuthV2Info: adds or replaces custom attributes of an access token's stored profile. Apigee: <SetOAuthV2Info>.",
    required: ['accessToken', 'attributes'],
    properties: { accessToken: tokenRef('The access token', 'AccessToken'), attributes },
  },
  needsBody: (config, phase) =>
    readsBodyVariable(phase, {
      names: [
        refName((config as SetOAuthV2InfoConfig).accessToken),
        ...(config as SetOAuthV2InfoConfig).attributes.map((a) => refName(a.value)),
      ],
    }),
  validate: (config) => oneRef(config as Record<string, unknown>, ['accessToken']),
};

export const deleteOAuthV2Info: PolicyTypeSpec = {
  type: 'DeleteOAuthV2Info',
  member: 'deleteOAuthV2Info',
  group: 'security',
  schema: {
    type: 'object',
    description: 'DeleteOAuthV2Info: deletes an access token or an authorization code. Apigee: <DeleteOAuthV2Info>.',
    properties: {
      accessToken: tokenRef('The access token', 'AccessToken'),
      authorizationCode: tokenRef('The authorization code', 'AuthorizationCode'),
    },
  },
  needsBody: readsBody,
  validate: (config) => oneRef(config as Record<string, unknown>, DELETE_MEMBERS),
};
