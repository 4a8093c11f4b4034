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
}

const variableName = { type: 'string', minLength: 1, maxLength: 256 } as const;

export const basicAuthentication: PolicyTypeSpec = {
  type: 'BasicAuthentication',
  member: 'basicAuthentication',
  group: 'security',
  schema: {
    type: 'object',
    required: ['operation', 'user', 'password'],
    properties: {
      operation: { type: 'string', enum: ['Encode', 'Decode'] },
      user: refOrSecret({ type: 'string', maxLength: 1024, description: 'the user name' }),
      password: refOrSecret({ type: 'string', maxLength: 1024, description: 'the password (Encode: never a literal)' }),
      assignTo: { ...variableName, description: 'Encode: variable receiving the header value' },
      source: { ...variableName, description: 'Decode: variable holding the header value' },
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
