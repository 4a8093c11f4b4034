// RaiseFault: stop the flow and answer with a configured response (docs/policies.md).
import { headerNameProblem } from '../header-changes.ts';
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
    description:
      'RaiseFault: stops the flow and answers with this response (error code steps.raisefault.RaiseFault; fault rules run). Apigee: <RaiseFault><FaultResponse>.',
    required: ['statusCode'],
    properties: {
      statusCode: {
        type: 'integer',
        minimum: 200,
        maximum: 599,
        description:
          'HTTP status of the response, 200 to 599 (Envoy makes an immediate response below 200 a 200). Apigee: <Set><StatusCode>.',
      },
      reasonPhrase: {
        type: 'string',
        maxLength: 256,
        description: 'HTTP reason phrase (at most 256 characters). Apigee: <Set><ReasonPhrase>.',
      },
      headers: {
        type: 'object',
        additionalProperties: {
          type: 'string',
          description: "The header value, a template: {variable} is replaced by the flow variable's text.",
        },
        description: 'Response headers by name. Apigee: <Set><Headers>.',
      },
      payload: {
        type: 'object',
        description:
          'The response body; absent: the standard fault body with faultstring "Raising fault. Fault name : <policy>". Apigee: <Set><Payload>.',
        required: ['content'],
        properties: {
          contentType: {
            type: 'string',
            description: 'Content-Type of the body; default text/plain. Apigee: the contentType attribute.',
          },
          content: {
            type: 'string',
            description: "The body, a template: {variable} is replaced by the flow variable's text.",
          },
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
    const headerProblems = Object.keys(c.headers ?? {}).flatMap((name) => {
      const problem = headerNameProblem('set', name);
      return problem === undefined
        ? []
        : [{ path: `headers.${name}`, message: `${name}: ${problem}; Envoy would not apply it` }];
    });
    return [
      ...templateFieldProblems(templateMapFields('headers', c.headers)),
      ...payloadProblems('payload', payload),
      ...headerProblems,
    ];
  },
};
