// RaiseFault: stop the flow and answer with a configured response (DESIGN 4a).
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { payloadProblems, templateFieldProblems, templateMapFields } from '../templates.ts';

export interface RaiseFaultConfig {
  statusCode: number;
  reasonPhrase?: string;
  headers?: Record<string, string>;
  payload?: { contentType?: string; content: string };
}

export const raiseFault: PolicyTypeSpec = {
  type: 'RaiseFault',
  member: 'raiseFault',
  group: 'mediation',
  schema: {
    type: 'object',
    required: ['statusCode'],
    properties: {
      statusCode: { type: 'integer', minimum: 100, maximum: 599 },
      reasonPhrase: { type: 'string', maxLength: 256 },
      headers: {
        type: 'object',
        additionalProperties: { type: 'string' },
        description: 'header templates with {variable}',
      },
      payload: {
        type: 'object',
        required: ['content'],
        properties: {
          contentType: { type: 'string' },
          content: { type: 'string', description: 'a template with {variable}' },
        },
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as RaiseFaultConfig;
    return readsBodyVariable(phase, { templates: [...Object.values(c.headers ?? {}), c.payload?.content] });
  },
  validate: (config) => {
    const c = config as RaiseFaultConfig;
    // The payload renders as its content type says; without one it is sent as text/plain.
    const payload = c.payload && { ...c.payload, contentType: c.payload.contentType ?? 'text/plain' };
    return [...templateFieldProblems(templateMapFields('headers', c.headers)), ...payloadProblems('payload', payload)];
  },
};
