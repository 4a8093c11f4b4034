// AssignMessage: add, copy, remove and set parts of the request or response, and assign flow
// variables (docs/policies.md). Values are templates with {variable}.
//
// Order: the compiled config is canonical JSON with sorted keys, so the order members were written in
// does not survive compilation. The shorthand members therefore run in a fixed order, remove, copy,
// add, set, assignVariable: the order in which "remove all, then set one" does what it says. Where the
// order matters otherwise, write `operations`, a list that runs in its declared order (as Apigee runs
// its elements); the two styles are exclusive.
import { assignedHeader, headerNameProblem, type HeaderOperation } from '../header-changes.ts';
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { messageName, stringList, stringMap, type ConfigProblem, type JSONSchema } from '../schema.ts';
import { payloadProblems, templateFieldProblems, templateMapFields, type TemplateField } from '../templates.ts';

export type MessageName = 'request' | 'response';

/** request, response, or a message variable AssignMessage createNew made (ServiceCallout reads them). */
export type MessageRef = string;

/** A message variable's name: a flow variable name that is not a built-in message's part. */
export const messageVariableName: JSONSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z_][A-Za-z0-9_-]*$',
};

export interface AddOperation {
  headers?: Record<string, string>;
  queryParams?: Record<string, string>;
  formParams?: Record<string, string>;
}

export interface Payload {
  contentType?: string;
  content: string;
  /** Apigee's variablePrefix/variableSuffix: `@name#` instead of `{name}`; braces are then literal. */
  variablePrefix?: string;
  variableSuffix?: string;
}

export interface SetOperation extends AddOperation {
  payload?: Payload;
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
  source?: MessageRef;
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
  assignTo?: MessageRef;
  /** assignTo names a new message variable of this type, made empty before the operations run. */
  createNew?: boolean;
  type?: MessageName;
  /** false: a template's unresolved variable is a fault (Apigee's default); true (Gatehouse's default): "". */
  ignoreUnresolvedVariables?: boolean;
  /** Operations in declared order; exclusive with the shorthand members. */
  operations?: AssignMessageOperation[];
}

const names = (what: string, verb: string) =>
  stringList(
    `Names of ${what} ${verb} (at most 64).`,
    64,
    256,
    `A ${what.replace(/s$/, '')} name (1 to 256 characters).`,
  );

const template = "a template: {variable} is replaced by the flow variable's text";

/** Header, query and form parameter maps of add (appended) and set (replaced). */
const parameterMaps = (verb: string, apigee: string): Record<string, JSONSchema> => ({
  headers: stringMap(`Headers ${verb}, by name. Apigee: <${apigee}><Headers>.`, `The header value, ${template}.`),
  queryParams: stringMap(
    `Query parameters ${verb} (request only), by name. Apigee: <${apigee}><QueryParams>.`,
    `The parameter value, ${template}.`,
  ),
  formParams: stringMap(
    `Form parameters ${verb}, by name; the body becomes application/x-www-form-urlencoded. Apigee: <${apigee}><FormParams>.`,
    `The parameter value, ${template}.`,
  ),
});

const addSchema: JSONSchema = {
  type: 'object',
  description: 'Appends headers and parameters; existing values stay. Apigee: <Add>.',
  properties: parameterMaps('appended', 'Add'),
};

const setSchema: JSONSchema = {
  type: 'object',
  description: 'Replaces parts of the message. Apigee: <Set>.',
  properties: {
    ...parameterMaps('replaced', 'Set'),
    payload: {
      type: 'object',
      description: 'Replaces the body. Apigee: <Set><Payload>.',
      required: ['content'],
      properties: {
        contentType: {
          type: 'string',
          maxLength: 256,
          description: 'Content-Type of the new body; absent: unchanged. Apigee: the contentType attribute.',
        },
        content: { type: 'string', maxLength: 1_048_576, description: `The body (at most 1 MiB), ${template}.` },
        variablePrefix: {
          type: 'string',
          minLength: 1,
          maxLength: 8,
          description:
            'With variableSuffix: variables are written prefix name suffix (e.g. @name#) instead of {name}, and braces are literal text. Apigee: the variablePrefix attribute.',
        },
        variableSuffix: {
          type: 'string',
          minLength: 1,
          maxLength: 8,
          description: 'Ends a variable written with variablePrefix. Apigee: the variableSuffix attribute.',
        },
      },
      'x-kubernetes-validations': [
        {
          rule: 'has(self.variablePrefix) == has(self.variableSuffix)',
          message: 'variablePrefix and variableSuffix go together',
        },
      ],
    },
    statusCode: {
      type: 'integer',
      minimum: 200,
      maximum: 599,
      description:
        'HTTP status, 200 to 599 (response only; Envoy refuses a :status below 200). Apigee: <Set><StatusCode>.',
    },
    reasonPhrase: {
      type: 'string',
      maxLength: 256,
      description: 'HTTP reason phrase (response only; at most 256 characters). Apigee: <Set><ReasonPhrase>.',
    },
    verb: {
      type: 'string',
      pattern: '^[A-Z]+$',
      maxLength: 32,
      description: 'HTTP method in uppercase (request only). Apigee: <Set><Verb>.',
    },
    path: {
      type: 'string',
      pattern: '^/',
      maxLength: 4096,
      description: `The request path, starting with / (request only), ${template}. Apigee: <Set><Path>.`,
    },
  },
};

const removeSchema: JSONSchema = {
  type: 'object',
  description: 'Removes headers, parameters or the body. Apigee: <Remove>.',
  properties: {
    headers: names('headers', 'removed'),
    queryParams: names('query parameters', 'removed'),
    formParams: names('form parameters', 'removed'),
    payload: { type: 'boolean', description: 'true: the body is emptied. Apigee: <Remove><Payload>.' },
  },
};

const copied = (what: string, apigee: string, only = ''): JSONSchema => ({
  type: 'boolean',
  description: `true: the ${what} is copied${only}. Apigee: <Copy><${apigee}>.`,
});
const copySchema: JSONSchema = {
  type: 'object',
  description: 'Copies parts of another message into this one. Apigee: <Copy>.',
  properties: {
    source: {
      ...messageVariableName,
      default: 'request',
      description:
        'The message copied from: request (default), response, or a message variable an AssignMessage createNew made. Apigee: the source attribute.',
    },
    headers: names('headers', "copied (their values replace this message's)"),
    queryParams: names('query parameters', 'copied'),
    formParams: names('form parameters', 'copied'),
    payload: copied('body', 'Payload'),
    statusCode: copied('status code', 'StatusCode', ' (response to response only)'),
    reasonPhrase: copied('reason phrase', 'ReasonPhrase', ' (response to response only)'),
    verb: copied('method', 'Verb', ' (request to request only)'),
    path: copied('path', 'Path', ' (request to request only)'),
  },
};

export const assignVariableSchema: JSONSchema = {
  type: 'array',
  maxItems: 64,
  description: 'Flow variables to set (at most 64), in order. Apigee: <AssignVariable> elements.',
  items: {
    type: 'object',
    description: 'One variable and exactly one source: value, ref or template. Apigee: <AssignVariable>.',
    required: ['name'],
    properties: {
      name: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description:
          'The variable to set; a message variable (request.header.x, response.status.code, ...) changes the message. Apigee: <Name>.',
      },
      value: { type: 'string', maxLength: 65_536, description: 'A literal value. Apigee: <Value>.' },
      ref: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description: 'Another flow variable, whose value is copied. Apigee: <Ref>.',
      },
      template: { type: 'string', maxLength: 65_536, description: `A value, ${template}. Apigee: <Template>.` },
    },
    'x-kubernetes-validations': [
      {
        rule: '[has(self.value), has(self.ref), has(self.template)].exists_one(x, x)',
        message: 'exactly one of value, ref or template',
      },
    ],
  },
};

/** The operation members (remove, copy, add, set, assignVariable), shared with ServiceCallout's request. */
export const operationSchemas = {
  remove: removeSchema,
  copy: copySchema,
  add: addSchema,
  set: setSchema,
  assignVariable: assignVariableSchema,
};
const operationMembers = Object.keys(operationSchemas) as (keyof AssignMessageOperation)[];
const hasMembers = operationMembers.map((m) => `has(self.${m})`);

/** The `operations` list member and the CEL rule that keeps it exclusive with the shorthand (ServiceCallout reuses both). */
export const operationsListSchema: JSONSchema = {
  type: 'array',
  maxItems: 64,
  description:
    'Operations run in the order listed (at most 64), as Apigee runs its elements; exclusive with the remove, copy, add, set and assignVariable members.',
  items: {
    type: 'object',
    description: 'One operation: exactly one of remove, copy, add, set or assignVariable.',
    properties: operationSchemas,
    'x-kubernetes-validations': [
      {
        rule: `[${hasMembers.join(', ')}].exists_one(x, x)`,
        message: `exactly one of ${operationMembers.join(', ')} per operation`,
      },
    ],
  },
};
export const operationsExclusiveRule = {
  rule: `!has(self.operations) || !(${hasMembers.join(' || ')})`,
  message: `operations is exclusive with ${operationMembers.join(', ')}`,
};

export const assignMessage: PolicyTypeSpec = {
  type: 'AssignMessage',
  member: 'assignMessage',
  group: 'mediation',
  schema: {
    type: 'object',
    description:
      'AssignMessage: removes, copies, adds and sets parts of the request or response, and assigns flow variables; the members run in the order remove, copy, add, set, assignVariable, or as operations lists them. Apigee: <AssignMessage>.',
    properties: {
      assignTo: {
        ...messageVariableName,
        description:
          'The message changed: request, response, or a message variable (createNew makes it); default the message of the phase the step runs in. Apigee: <AssignTo>.',
      },
      createNew: {
        type: 'boolean',
        description:
          'true: assignTo names a new, empty message variable of type (request or response) that later steps read as {name}.header.x, {name}.content, ... (ServiceCallout sends such requests). Apigee: the createNew attribute.',
      },
      type: {
        ...messageName,
        description:
          'The type of the message createNew makes: request (default) or response. Apigee: the type attribute.',
      },
      ignoreUnresolvedVariables: {
        type: 'boolean',
        description:
          'true (default here): a template variable that does not resolve expands to ""; false: it is a fault, steps.assignmessage.UnresolvedVariable (500), as in Apigee, whose default is false. Apigee: <IgnoreUnresolvedVariables>.',
      },
      ...operationSchemas,
      operations: operationsListSchema,
    },
    'x-kubernetes-validations': [operationsExclusiveRule],
  },
  needsBody: (config, phase) => assignMessageNeedsBody(config as AssignMessageConfig, phase),
  validate: (config) => validateAssignMessage(config as AssignMessageConfig),
};

/** Body edits (payload, form parameters) and reads of body variables need the body; headers do not. */
export function assignMessageNeedsBody(config: AssignMessageConfig, phase: 'request' | 'response'): boolean {
  const operations = orderedOperations(config);
  // Copying this phase's body or form into any message (a createNew one too) reads it.
  const readsBody = operations.some(
    (op) => (op.copy?.payload === true || op.copy?.formParams !== undefined) && (op.copy.source ?? 'request') === phase,
  );
  const editsBody =
    readsBody ||
    ((config.assignTo ?? phase) === phase &&
      operations.some(
        (op) =>
          op.set?.payload !== undefined ||
          op.set?.formParams !== undefined ||
          op.add?.formParams !== undefined ||
          op.remove?.formParams !== undefined ||
          op.remove?.payload === true ||
          (op.copy?.payload === true && (op.copy.source ?? 'request') === phase),
      ));
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

/** Operations as AssignMessage and ServiceCallout's request write them: the shorthand members or a list. */
export interface OperationsConfig extends AssignMessageOperation {
  operations?: AssignMessageOperation[];
}

/** The operations to run, in order: `operations` as declared, or the shorthand in the fixed order. */
export function orderedOperations(config: OperationsConfig): AssignMessageOperation[] {
  if (config.operations) return config.operations;
  return operationMembers.filter((m) => config[m] !== undefined).map((m) => ({ [m]: config[m] }));
}

function validateAssignMessage(config: AssignMessageConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (
    config.createNew &&
    (config.assignTo === undefined || config.assignTo === 'request' || config.assignTo === 'response')
  )
    problems.push({
      path: 'assignTo',
      message: 'createNew needs assignTo naming a message variable (not request or response)',
    });
  if (config.type !== undefined && !config.createNew)
    problems.push({ path: 'type', message: 'type applies with createNew only' });
  problems.push(...operationProblems(config));
  return problems;
}

/** What JSON Schema cannot say about operations: exclusivity, templates that do not parse, headers Envoy refuses. */
export function operationProblems(config: OperationsConfig): ConfigProblem[] {
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
    const payload = op.set?.payload;
    if (payload && (payload.variablePrefix === undefined) !== (payload.variableSuffix === undefined))
      problems.push({ path: at('set.payload'), message: 'variablePrefix and variableSuffix go together' });
    problems.push(...templateProblems(op, at), ...headerProblems(op, at));
  });
  return problems;
}

/** Every configured header change Envoy would not apply (header-changes.ts): refused when compiled. */
function headerProblems(op: AssignMessageOperation, at: (member: string) => string): ConfigProblem[] {
  const changes: Array<{ path: string; op: HeaderOperation; name: string }> = [
    ...Object.keys(op.set?.headers ?? {}).map((name) => ({
      path: at(`set.headers.${name}`),
      op: 'set' as const,
      name,
    })),
    ...Object.keys(op.add?.headers ?? {}).map((name) => ({
      path: at(`add.headers.${name}`),
      op: 'add' as const,
      name,
    })),
    ...(op.remove?.headers ?? []).map((name, i) => ({ path: at(`remove.headers[${i}]`), op: 'remove' as const, name })),
    ...(op.copy?.headers ?? []).map((name, i) => ({ path: at(`copy.headers[${i}]`), op: 'set' as const, name })),
    ...(op.assignVariable ?? []).flatMap((v, i) => {
      const name = assignedHeader(v.name);
      return name === undefined ? [] : [{ path: at(`assignVariable[${i}].name`), op: 'set' as const, name }];
    }),
  ];
  return changes.flatMap(({ path, op: change, name }) => {
    const problem = headerNameProblem(change, name);
    return problem === undefined ? [] : [{ path, message: `${name}: ${problem}; Envoy would not apply it` }];
  });
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
