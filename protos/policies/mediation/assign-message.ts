// AssignMessage: add, copy, remove and set parts of the request or response, and assign flow
// variables (DESIGN 4, 4a). Values are templates with {variable}.
//
// Order: the compiled config is canonical JSON with sorted keys, so the order members were written in
// does not survive compilation. The shorthand members therefore run in a fixed order, remove, copy,
// add, set, assignVariable: the order in which "remove all, then set one" does what it says. Where the
// order matters otherwise, write `operations`, a list that runs in its declared order (as Apigee runs
// its elements); the two styles are exclusive.
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { messageName, stringList, stringMap, type ConfigProblem, type JSONSchema } from '../schema.ts';
import { payloadProblems, templateFieldProblems, templateMapFields, type TemplateField } from '../templates.ts';

export type MessageName = 'request' | 'response';

export interface AddOperation {
  headers?: Record<string, string>;
  queryParams?: Record<string, string>;
  formParams?: Record<string, string>;
}

export interface SetOperation extends AddOperation {
  payload?: { contentType?: string; content: string };
  /** Response only. */
  statusCode?: number;
  reasonPhrase?: string;
  /** Request only. */
  verb?: string;
  /** Request only: the request path (template). */
  path?: string;
}

export interface RemoveOperation {
  headers?: string[];
  queryParams?: string[];
  formParams?: string[];
  payload?: boolean;
}

export interface CopyOperation {
  /** The message copied from; default request. */
  source?: MessageName;
  headers?: string[];
  queryParams?: string[];
  formParams?: string[];
  payload?: boolean;
  statusCode?: boolean;
  reasonPhrase?: boolean;
  verb?: boolean;
  path?: boolean;
}

/** Exactly one of value (literal), ref (another variable) or template. */
export interface AssignVariable {
  name: string;
  value?: string;
  ref?: string;
  template?: string;
}

export interface AssignMessageOperation {
  remove?: RemoveOperation;
  copy?: CopyOperation;
  add?: AddOperation;
  set?: SetOperation;
  assignVariable?: AssignVariable[];
}

export interface AssignMessageConfig extends AssignMessageOperation {
  /** The message changed; default the message of the phase the step runs in. */
  assignTo?: MessageName;
  /** Operations in declared order; exclusive with the shorthand members. */
  operations?: AssignMessageOperation[];
}

const names = (what: string) => stringList(`${what} names`, 64, 256);

const addSchema: JSONSchema = {
  type: 'object',
  properties: {
    headers: stringMap('header name -> value template'),
    queryParams: stringMap('query parameter name -> value template'),
    formParams: stringMap('form parameter name -> value template'),
  },
};

const setSchema: JSONSchema = {
  type: 'object',
  properties: {
    ...addSchema.properties,
    payload: {
      type: 'object',
      required: ['content'],
      properties: {
        contentType: { type: 'string', maxLength: 256 },
        content: { type: 'string', maxLength: 1_048_576, description: 'a template' },
      },
    },
    statusCode: { type: 'integer', minimum: 100, maximum: 599 },
    reasonPhrase: { type: 'string', maxLength: 256 },
    verb: { type: 'string', pattern: '^[A-Z]+$', maxLength: 32 },
    path: { type: 'string', pattern: '^/', maxLength: 4096, description: 'a template' },
  },
};

const removeSchema: JSONSchema = {
  type: 'object',
  properties: {
    headers: names('header'),
    queryParams: names('query parameter'),
    formParams: names('form parameter'),
    payload: { type: 'boolean' },
  },
};

const flag: JSONSchema = { type: 'boolean' };
const copySchema: JSONSchema = {
  type: 'object',
  properties: {
    source: { ...messageName, default: 'request' },
    headers: names('header'),
    queryParams: names('query parameter'),
    formParams: names('form parameter'),
    payload: flag,
    statusCode: flag,
    reasonPhrase: flag,
    verb: flag,
    path: flag,
  },
};

const assignVariableSchema: JSONSchema = {
  type: 'array',
  maxItems: 64,
  items: {
    type: 'object',
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 256 },
      value: { type: 'string', maxLength: 65_536 },
      ref: { type: 'string', minLength: 1, maxLength: 256 },
      template: { type: 'string', maxLength: 65_536 },
    },
    'x-kubernetes-validations': [
      {
        rule: '[has(self.value), has(self.ref), has(self.template)].exists_one(x, x)',
        message: 'exactly one of value, ref or template',
      },
    ],
  },
};

const operationSchemas = {
  remove: removeSchema,
  copy: copySchema,
  add: addSchema,
  set: setSchema,
  assignVariable: assignVariableSchema,
};
const operationMembers = Object.keys(operationSchemas) as (keyof AssignMessageOperation)[];
const hasMembers = operationMembers.map((m) => `has(self.${m})`);

export const assignMessage: PolicyTypeSpec = {
  type: 'AssignMessage',
  member: 'assignMessage',
  group: 'mediation',
  schema: {
    type: 'object',
    properties: {
      assignTo: messageName,
      ...operationSchemas,
      operations: {
        type: 'array',
        maxItems: 64,
        items: {
          type: 'object',
          properties: operationSchemas,
          'x-kubernetes-validations': [
            {
              rule: `[${hasMembers.join(', ')}].exists_one(x, x)`,
              message: `exactly one of ${operationMembers.join(', ')} per operation`,
            },
          ],
        },
      },
    },
    'x-kubernetes-validations': [
      {
        rule: `!has(self.operations) || !(${hasMembers.join(' || ')})`,
        message: `operations is exclusive with ${operationMembers.join(', ')}`,
      },
    ],
  },
  needsBody: (config, phase) => assignMessageNeedsBody(config as AssignMessageConfig, phase),
  validate: (config) => validateAssignMessage(config as AssignMessageConfig),
};

/** Body edits (payload, form parameters) and reads of body variables need the body; headers do not. */
function assignMessageNeedsBody(config: AssignMessageConfig, phase: 'request' | 'response'): boolean {
  const operations = orderedOperations(config);
  const editsBody =
    (config.assignTo ?? phase) === phase &&
    operations.some(
      (op) =>
        op.set?.payload !== undefined ||
        op.set?.formParams !== undefined ||
        op.add?.formParams !== undefined ||
        op.remove?.formParams !== undefined ||
        op.remove?.payload === true ||
        (op.copy?.payload === true && (op.copy.source ?? 'request') === phase),
    );
  const templates = operations.flatMap((op) => [
    ...Object.values(op.add?.headers ?? {}),
    ...Object.values(op.add?.queryParams ?? {}),
    ...Object.values(op.add?.formParams ?? {}),
    ...Object.values(op.set?.headers ?? {}),
    ...Object.values(op.set?.queryParams ?? {}),
    ...Object.values(op.set?.formParams ?? {}),
    op.set?.payload?.content,
    op.set?.path,
    ...(op.assignVariable ?? []).map((v) => v.template),
  ]);
  const names = operations.flatMap((op) => (op.assignVariable ?? []).map((v) => v.ref));
  return editsBody || readsBodyVariable(phase, { names, templates });
}

/** The operations to run, in order: `operations` as declared, or the shorthand in the fixed order. */
export function orderedOperations(config: AssignMessageConfig): AssignMessageOperation[] {
  if (config.operations) return config.operations;
  return operationMembers.filter((m) => config[m] !== undefined).map((m) => ({ [m]: config[m] }));
}

function validateAssignMessage(config: AssignMessageConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const shorthand = operationMembers.filter((m) => config[m] !== undefined);
  if (config.operations && shorthand.length > 0) {
    problems.push({ path: 'operations', message: `operations is exclusive with ${shorthand.join(', ')}` });
  }
  (config.operations ?? []).forEach((op, i) => {
    const set = operationMembers.filter((m) => op[m] !== undefined);
    if (set.length !== 1)
      problems.push({
        path: `operations[${i}]`,
        message: `exactly one of ${operationMembers.join(', ')} per operation`,
      });
  });
  orderedOperations(config).forEach((op, i) => {
    const at = (member: string) => (config.operations ? `operations[${i}].${member}` : member);
    op.assignVariable?.forEach((v, j) => {
      const sources = [v.value, v.ref, v.template].filter((s) => s !== undefined).length;
      if (sources !== 1)
        problems.push({ path: at(`assignVariable[${j}]`), message: 'exactly one of value, ref or template' });
    });
    problems.push(...templateProblems(op, at));
  });
  return problems;
}

/** Every template of one operation that does not parse (payloads in their content type's mode). */
function templateProblems(op: AssignMessageOperation, at: (member: string) => string): ConfigProblem[] {
  const fields: TemplateField[] = [];
  for (const kind of ['add', 'set'] as const) {
    for (const member of ['headers', 'queryParams', 'formParams'] as const) {
      fields.push(...templateMapFields(at(`${kind}.${member}`), op[kind]?.[member]));
    }
  }
  fields.push({ path: at('set.path'), template: op.set?.path });
  op.assignVariable?.forEach((v, j) =>
    fields.push({ path: at(`assignVariable[${j}].template`), template: v.template }),
  );
  return [...templateFieldProblems(fields), ...payloadProblems(at('set.payload'), op.set?.payload)];
}
