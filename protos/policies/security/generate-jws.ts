// GenerateJWS (Apigee's GenerateJWS): signs a payload (a variable, e.g. request.content) into a
// compact JWS, or a detached one (header..signature) with DetachContent (docs/policies.md#generatejws).
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import {
  algorithmSchema,
  claimProblems,
  claimsSchema,
  privateKeySchema,
  secretKeySchema,
  signKeyProblems,
  type ClaimConfig,
  type JwtAlgorithm,
  type PrivateKeyConfig,
  type SecretKeyConfig,
} from './jwt-common.ts';

export interface GenerateJwsConfig {
  algorithm: JwtAlgorithm;
  privateKey?: PrivateKeyConfig;
  secretKey?: SecretKeyConfig;
  /** The variable whose value is signed. Apigee: <Payload ref>. */
  payload: string;
  detachContent?: boolean;
  /** The cty header. */
  contentType?: string;
  additionalHeaders?: ClaimConfig[];
  criticalHeaders?: string[];
  outputVariable: string;
  ignoreUnresolvedVariables?: boolean;
}

const variable = (description: string) => ({ type: 'string', minLength: 1, maxLength: 256, description }) as const;

export const generateJWS: PolicyTypeSpec = {
  type: 'GenerateJWS',
  member: 'generateJWS',
  group: 'security',
  schema: {
    type: 'object',
    description: 'GenerateJWS: signs a payload into a compact or detached JWS in a variable. Apigee: <GenerateJWS>.',
    required: ['algorithm', 'payload', 'outputVariable'],
    properties: {
      algorithm: algorithmSchema,
      privateKey: privateKeySchema,
      secretKey: secretKeySchema,
      payload: variable('The variable whose value is signed, e.g. request.content. Apigee: <Payload ref>.'),
      detachContent: {
        type: 'boolean',
        description: 'true: the output is header..signature (RFC 7515 Appendix F). Apigee: <DetachContent>.',
      },
      contentType: { type: 'string', minLength: 1, maxLength: 256, description: 'The cty header. Apigee: <Type>.' },
      additionalHeaders: claimsSchema('More headers. Apigee: <AdditionalHeaders>.'),
      criticalHeaders: {
        type: 'array',
        maxItems: 32,
        items: { type: 'string', minLength: 1, maxLength: 256, description: 'A header name.' },
        description: 'Additional headers to list in crit. Apigee: <CriticalHeaders>.',
      },
      outputVariable: variable('The variable that receives the JWS. Apigee: <OutputVariable>.'),
      ignoreUnresolvedVariables: {
        type: 'boolean',
        description: 'true: an unset header ref leaves it out instead of failing. Apigee: <IgnoreUnresolvedVariables>.',
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as GenerateJwsConfig;
    return readsBodyVariable(phase, { names: [c.payload, ...(c.additionalHeaders ?? []).map((h) => h.ref)] });
  },
  validate: (config) => {
    const c = config as GenerateJwsConfig;
    const problems = [
      ...signKeyProblems(c.algorithm, c.privateKey, c.secretKey),
      ...claimProblems('additionalHeaders', c.additionalHeaders),
    ];
    const headers = new Set((c.additionalHeaders ?? []).map((h) => h.name));
    (c.criticalHeaders ?? []).forEach((name, i) => {
      if (!headers.has(name))
        problems.push({ path: `criticalHeaders[${i}]`, message: `${name} is not an additional header` });
    });
    return problems;
  },
};
