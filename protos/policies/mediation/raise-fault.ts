// RaiseFault: stop the flow and answer with a configured response (docs/policies.md).
import { headerNameProblem } from '../header-changes.ts';
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { payloadProblems, templateFieldProblems, templateMapFields } from '../templates.ts';
import { assignVariableSchema, messageVariableName, type AssignVariable } from './assign-message.ts';
import { stringList } from '../schema.ts';

export interface RaiseFaultConfig {
  statusCode: number;
  reasonPhrase?: string;
  headers?: Record<string, string>;
  payload?: { contentType?: string; content: string };
  /** Apigee <FaultResponse><Copy>: headers and the payload of another message into the fault response. */
  copy?: { source?: string; headers?: string[]; payload?: boolean };
  /** Apigee <FaultResponse><Remove>: headers left out of the fault response (copied ones, say). */
  remove?: { headers?: string[] };
  /** Apigee <FaultResponse><Add><Headers>: header values appended (a copied value stays). */
  add?: { headers?: Record<string, string> };
  /** Apigee <FaultResponse><AssignVariable>: flow variables set before the response is built. */
  assignVariable?: AssignVariable[];
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
      assignVariable: {
        ...assignVariableSchema,
        items: {
          ...assignVariableSchema.items!,
          'x-kubernetes-validations': [
            {
              rule: '[has(self.value), has(self.ref), has(self.template)].exists_one(x, x)',
              message: 'each assignVariable needs exactly one of value, ref or template',
            },
          ],
        },
        description:
          'Flow variables to set (at most 64), in order, before the response is built (its templates see them). Apigee: <FaultResponse><AssignVariable>.',
      },
      copy: {
        type: 'object',
        description:
          'Copies headers and the body of another message into the fault response, before remove and the configured headers and payload. Apigee: <FaultResponse><Copy>.',
        properties: {
          source: {
            ...messageVariableName,
            description:
              'The message copied from: request (default), response, or a message variable an AssignMessage createNew made. Apigee: the source attribute.',
          },
          headers: stringList('Names of headers copied (at most 64).', 64, 256),
          payload: {
            type: 'boolean',
            description: 'true: the body and its Content-Type are copied. Apigee: <Copy><Payload>.',
          },
        },
      },
      remove: {
        type: 'object',
        description:
          'Headers left out of the fault response (copied ones), before the configured headers are set. Apigee: <FaultResponse><Remove>.',
        properties: { headers: stringList('Names of headers removed (at most 64).', 64, 256) },
      },
      add: {
        type: 'object',
        description:
          'Headers appended to the fault response after copy and remove: a header already there (copied) keeps its value and gets this one after it; headers replaces. Apigee: <FaultResponse><Add><Headers>.',
        properties: {
          headers: {
            type: 'object',
            maxProperties: 64,
            additionalProperties: {
              type: 'string',
              description: "The header value, a template: {variable} is replaced by the flow variable's text.",
            },
            description: 'Headers appended, by name (at most 64). Apigee: <Add><Headers><Header name>.',
          },
        },
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
    const copiesBody = c.copy?.payload === true && (c.copy.source ?? 'request') === phase;
    return (
      copiesBody ||
      readsBodyVariable(phase, {
        names: (c.assignVariable ?? []).map((v) => v.ref),
        templates: [
          ...Object.values(c.headers ?? {}),
          ...Object.values(c.add?.headers ?? {}),
          c.payload?.content,
          ...(c.assignVariable ?? []).map((v) => v.template),
        ],
      })
    );
  },
  validate: (config) => {
    const c = config as RaiseFaultConfig;
    // The payload renders as its content type says; without one it is sent as text/plain.
    const payload = c.payload && { ...c.payload, contentType: c.payload.contentType ?? 'text/plain' };
    const copied = (c.copy?.headers ?? []).map((name, i) => ({ name, path: `copy.headers[${i}]` }));
    const headerProblems = [
      ...Object.keys(c.headers ?? {}).map((name) => ({ name, path: `headers.${name}`, op: 'set' as const })),
      ...Object.keys(c.add?.headers ?? {}).map((name) => ({ name, path: `add.headers.${name}`, op: 'add' as const })),
      ...copied.map((x) => ({ ...x, op: 'set' as const })),
    ].flatMap(({ name, path, op }) => {
      const problem = headerNameProblem(op, name);
      return problem === undefined ? [] : [{ path, message: `${name}: ${problem}; Envoy would not apply it` }];
    });
    const assignProblems = (c.assignVariable ?? []).flatMap((v, i) =>
      [v.value, v.ref, v.template].filter((x) => x !== undefined).length === 1
        ? []
        : [{ path: `assignVariable[${i}]`, message: 'exactly one of value, ref or template' }],
    );
    return [
      ...assignProblems,
      ...templateFieldProblems(
        (c.assignVariable ?? []).map((v, i) => ({ path: `assignVariable[${i}].template`, template: v.template })),
      ),
      ...templateFieldProblems(templateMapFields('headers', c.headers)),
      ...templateFieldProblems(templateMapFields('add.headers', c.add?.headers)),
      ...payloadProblems('payload', payload),
      ...headerProblems,
    ];
  },
};
