// BasicAuthentication: Encode builds an `Authorization: Basic` value from a user and a password;
// Decode parses one into two flow variables (Apigee's BasicAuthentication). Encode's password comes
// from a Secret or a variable, never inline: a literal would stand in the snapshot in clear.
import { readsBodyVariable, refName } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { refOrSecret, type ConfigProblem, type RefOrSecret } from '../schema.ts';

export interface BasicAuthenticationConfig {
  operation: 'Encode' | 'Decode';
  /** Encode: the user name (literal, ref or secretRef). Decode: `{ref: VARIABLE}` that receives the user name. */
  user: RefOrSecret<string>;
  /** Encode: the password (secretRef or ref; never a literal). Decode: `{ref: VARIABLE}` that receives the password. */
  password: RefOrSecret<string>;
  /** Encode: where the header value goes; default request.header.Authorization. */
  assignTo?: string;
  /** Decode: the variable holding the header value; default request.header.Authorization. */
  source?: string;
  /** Decode: status of InvalidBasicAuthenticationSource; 401 (default, with WWW-Authenticate) or 500 (Apigee's). */
  faultStatus?: 401 | 500;
}

const variableName = { type: 'string', minLength: 1, maxLength: 256 } as const;

export const basicAuthentication: PolicyTypeSpec = {
  type: 'BasicAuthentication',
  member: 'basicAuthentication',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'BasicAuthentication: Encode builds an Authorization: Basic value from a user and a password; Decode splits one into two flow variables. Apigee: <BasicAuthentication>.',
    required: ['operation', 'user', 'password'],
    properties: {
      operation: {
        type: 'string',
        enum: ['Encode', 'Decode'],
        description: 'Encode or Decode. Apigee: <Operation>.',
      },
      user: refOrSecret({
        type: 'string',
        maxLength: 1024,
        description:
          'Encode: the user name (at most 1024 characters). Decode: must be {ref: VARIABLE}, the variable that receives the user name. Apigee: <User ref>.',
      }),
      password: refOrSecret({
        type: 'string',
        maxLength: 1024,
        description:
          'Encode: the password, never a literal (it would stand in the snapshot in clear): {secretRef} or {ref}. Decode: must be {ref: VARIABLE}, the variable that receives the password. Apigee: <Password ref>.',
      }),
      assignTo: {
        ...variableName,
        description:
          'Encode: the variable that receives Basic base64(user:password); default request.header.Authorization. Apigee: <AssignTo>.',
      },
      source: {
        ...variableName,
        description:
          'Decode: the variable holding the header value; default request.header.Authorization. Apigee: <Source>.',
      },
      faultStatus: {
        type: 'integer',
        enum: [401, 500],
        description:
          "Decode: status of InvalidBasicAuthenticationSource: 401 with WWW-Authenticate: Basic (default), or 500 without it, Apigee's status.",
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as BasicAuthenticationConfig;
    const reads = c.operation === 'Encode' ? [refName(c.user), refName(c.password)] : [c.source];
    return readsBodyVariable(phase, { names: reads });
  },
  validate: (config) => {
    const c = config as BasicAuthenticationConfig;
    if (c.operation !== 'Decode') {
      return typeof c.password === 'string'
        ? [
            {
              path: 'password',
              message:
                'a literal password would stand in the snapshot in clear: use {secretRef: {name, key}} (a Secret labelled gatehouse.dev/credential) or {ref: VARIABLE}',
            },
          ]
        : [];
    }
    const problems: ConfigProblem[] = [];
    for (const member of ['user', 'password'] as const) {
      if (typeof c[member] !== 'object')
        problems.push({ path: member, message: 'Decode writes into a variable: use {ref: VARIABLE}' });
    }
    return problems;
  },
};
