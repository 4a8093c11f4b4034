// A minimal JSON Schema type: the subset our policy schemas use. It must stay a structural OpenAPI v3
// schema (every property typed; no $ref) so the ApiPolicy CRD can embed it as is.
export interface JSONSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchema>;
  required?: readonly string[];
  additionalProperties?: boolean | JSONSchema;
  items?: JSONSchema;
  enum?: readonly (string | number | boolean)[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  oneOf?: readonly JSONSchema[];
  anyOf?: readonly JSONSchema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: readonly { rule: string; message?: string; fieldPath?: string; reason?: string }[];
  /**
   * Marks a value that is either the given literal schema or `{ref: VARIABLE}`. Structural CRD schemas
   * cannot say "string or object", so the CRD keeps this node open and the compiler (ajv) checks it
   * as anyOf [literal, {ref}].
   */
  'x-gatehouse-ref-or'?: JSONSchema;
}

/** `{ref: VARIABLE}` or a literal (DESIGN 3): any value that may come from a flow variable. */
export function refOr(literal: JSONSchema): JSONSchema {
  return {
    description: `${literal.description ?? 'a literal'}, or {ref: VARIABLE} to read it from a flow variable`,
    'x-kubernetes-preserve-unknown-fields': true,
    'x-gatehouse-ref-or': literal,
  };
}

/** A value that is either a literal T or a reference to a flow variable. */
export type RefOr<T> = T | { ref: string };

/**
 * The schema as the ApiPolicy CRD embeds it: `x-gatehouse-ref-or` is not an OpenAPI field (kubectl's
 * strict field validation rejects unknown fields of a CRD), so it is dropped; its node stays open.
 */
export function toCrdSchema(schema: JSONSchema): JSONSchema {
  return mapSchema(schema, (node) => {
    const { 'x-gatehouse-ref-or': _literal, ...rest } = node;
    return rest;
  });
}

const refSchema: JSONSchema = {
  type: 'object',
  required: ['ref'],
  additionalProperties: false,
  properties: { ref: { type: 'string', minLength: 1, maxLength: 256 } },
};

/**
 * The schema as the compiler validates it (ajv): every ref-or node becomes anyOf [literal, {ref}],
 * and objects with declared properties reject unknown members (structural CRD schemas cannot say
 * `additionalProperties: false`; the apiserver prunes instead, so only the compiler can report typos).
 * Kubernetes-only keywords are removed so ajv's strict mode accepts the result.
 */
export function toValidationSchema(schema: JSONSchema): JSONSchema {
  return mapSchema(schema, (node) => {
    const literal = node['x-gatehouse-ref-or'];
    if (literal !== undefined) {
      return {
        ...(node.description ? { description: node.description } : {}),
        anyOf: [toValidationSchema(literal), refSchema],
      };
    }
    const {
      'x-kubernetes-preserve-unknown-fields': _open,
      'x-kubernetes-validations': _rules,
      'x-kubernetes-int-or-string': _intOrString,
      ...rest
    } = node;
    return rest.properties !== undefined && rest.additionalProperties === undefined
      ? { ...rest, additionalProperties: false }
      : rest;
  });
}

/** Rebuilds a schema bottom-up, applying `visit` to every node. */
function mapSchema(schema: JSONSchema, visit: (node: JSONSchema) => JSONSchema): JSONSchema {
  const node: JSONSchema = { ...schema };
  if (node['x-gatehouse-ref-or'] !== undefined) return visit(node);
  if (node.properties) {
    node.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, mapSchema(v, visit)]));
  }
  if (node.items) node.items = mapSchema(node.items, visit);
  if (typeof node.additionalProperties === 'object')
    node.additionalProperties = mapSchema(node.additionalProperties, visit);
  if (node.anyOf) node.anyOf = node.anyOf.map((s) => mapSchema(s, visit));
  if (node.oneOf) node.oneOf = node.oneOf.map((s) => mapSchema(s, visit));
  return visit(node);
}

/** Property names of the message a policy reads or writes. */
export const messageName: JSONSchema = { type: 'string', enum: ['request', 'response'] };

/** A list of strings with bounded size (every input bounded, DESIGN 10). */
export function stringList(description: string, maxItems = 64, maxLength = 1024): JSONSchema {
  return { type: 'array', description, maxItems, items: { type: 'string', minLength: 1, maxLength } };
}

/** A free-keyed map of string values (header name -> value template, ...). */
export function stringMap(description: string): JSONSchema {
  return { type: 'object', description, additionalProperties: { type: 'string', maxLength: 8192 } };
}

/** A problem found in a config that the schema cannot express: `path` is relative to the member. */
export interface ConfigProblem {
  path: string;
  message: string;
}
