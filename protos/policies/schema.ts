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
  minProperties?: number;
  maxProperties?: number;
  multipleOf?: number;
  default?: unknown;
  oneOf?: readonly JSONSchema[];
  anyOf?: readonly JSONSchema[];
  not?: JSONSchema;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: readonly { rule: string; message?: string; fieldPath?: string; reason?: string }[];
  /**
   * Marks a value that is either the given literal schema or `{ref: VARIABLE}`. Structural CRD schemas
   * cannot give a node two types ("string or object"), so the CRD keeps this node untyped and open and
   * checks it with typeless value validations (`toCrdSchema`); the compiler (ajv) checks it as
   * anyOf [literal, {ref}] (`toValidationSchema`). Both accept exactly the same values.
   */
  'x-gatehouse-ref-or'?: JSONSchema;
  /**
   * On a ref-or node: `{secretRef: {name, key}}` is accepted too, a key of a Secret labelled
   * gatehouse.dev/credential in the policy's namespace. The compiler resolves it; the value never
   * stands in the policy's config (see secretRefsIn).
   */
  'x-gatehouse-secret-ref'?: boolean;
  /**
   * On an object node: its text member of this name (a stylesheet, an XSD, a script) may be given
   * instead as `configMapRef: {name, key}`, a key of a ConfigMap in the policy's namespace labelled
   * gatehouse.dev/resource. The compiler puts the text in its place (see configMapRefsIn), so the
   * snapshot and extproc only ever see the inline form.
   */
  'x-gatehouse-configmap-text'?: string;
}

/** `{ref: VARIABLE}` or a literal (docs/architecture.md#the-api): any value that may come from a flow variable. */
export function refOr(literal: JSONSchema): JSONSchema {
  return {
    description: `${literal.description ?? 'A literal.'} Or {ref: VARIABLE}: read from that flow variable at request time.`,
    'x-kubernetes-preserve-unknown-fields': true,
    'x-gatehouse-ref-or': literal,
  };
}

/** The `ref` member of `{ref: VARIABLE}`, the same in the CRD and in the compiler's schema. */
const refMember: JSONSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  description: 'name of the flow variable to read (request.header.x-api-key, client_id, ...)',
};

const secretRefMember: JSONSchema = {
  type: 'object',
  required: ['name', 'key'],
  additionalProperties: false,
  description: "a key of a Secret in the policy's namespace, labelled gatehouse.dev/credential",
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
      description: 'the Secret',
    },
    key: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$', description: 'its key' },
  },
};

/** The label that opts a ConfigMap in as a policy resource (the operator lists no other ConfigMap). */
export const resourceConfigMapLabel = 'gatehouse.dev/resource';

/** `{name, key}` of a ConfigMap in the policy's namespace. */
export interface ConfigMapRef {
  name: string;
  key: string;
}

const configMapRefMember = (textField: string): JSONSchema => ({
  type: 'object',
  required: ['name', 'key'],
  description: `Instead of ${textField} inline: a key of a ConfigMap in the policy's namespace labelled ${resourceConfigMapLabel}=true, read by the operator (an edit recompiles). Apigee: the resource a ResourceURL names.`,
  properties: {
    name: { ...secretRefMember.properties!.name!, description: 'the ConfigMap' },
    key: { ...secretRefMember.properties!.key!, description: 'its key (data, not binaryData)' },
  },
});

/**
 * An object schema whose text member `textField` may instead come from a ConfigMap: `configMapRef`
 * is added, and `textField` is no longer required: exactly one of the two must be set when the text
 * was required, at most one when it was optional.
 */
export function textOrConfigMap(schema: JSONSchema, textField: string): JSONSchema {
  const required = (schema.required ?? []).includes(textField);
  return {
    ...schema,
    required: (schema.required ?? []).filter((r) => r !== textField),
    properties: { ...schema.properties, configMapRef: configMapRefMember(textField) },
    'x-gatehouse-configmap-text': textField,
    'x-kubernetes-validations': [
      ...(schema['x-kubernetes-validations'] ?? []),
      required
        ? {
            rule: `[has(self.${textField}), has(self.configMapRef)].exists_one(x, x)`,
            message: `exactly one of ${textField} or configMapRef`,
          }
        : {
            rule: `!(has(self.${textField}) && has(self.configMapRef))`,
            message: `at most one of ${textField} or configMapRef`,
          },
    ],
  };
}

export interface FoundConfigMapRef {
  /** The object holding the text, relative to the member ("" for the member itself, "includes[0]"). */
  path: string;
  /** Its text member ("stylesheet", "source"). */
  textField: string;
  /** Whether one of the text and configMapRef is required. */
  required: boolean;
  /** The text member's largest length, from its schema. */
  maxLength?: number;
  /** Whether the text is there inline. */
  inline: boolean;
  ref?: ConfigMapRef;
}

/** The path of the text member, or of configMapRef, of a found object ("stylesheet", "includes[0].configMapRef"). */
export function memberPath(found: FoundConfigMapRef, member: string): string {
  return found.path === '' ? member : `${found.path}.${member}`;
}

/** Every object of a schema-valid config whose text may come from a ConfigMap. */
export function configMapRefsIn(schema: JSONSchema, config: unknown, path = ''): FoundConfigMapRef[] {
  if (config === null || typeof config !== 'object') return [];
  if (Array.isArray(config))
    return schema.items ? config.flatMap((item, i) => configMapRefsIn(schema.items!, item, `${path}[${i}]`)) : [];
  const out: FoundConfigMapRef[] = [];
  const textField = schema['x-gatehouse-configmap-text'];
  const record = config as Record<string, unknown>;
  if (textField !== undefined) {
    const ref = record.configMapRef as ConfigMapRef | undefined;
    out.push({
      path,
      textField,
      required:
        schema['x-kubernetes-validations']?.some((v) => v.message === `exactly one of ${textField} or configMapRef`) ??
        false,
      maxLength: schema.properties?.[textField]?.maxLength,
      inline: typeof record[textField] === 'string',
      ...(ref ? { ref } : {}),
    });
  }
  const join = (key: string) => (path === '' ? key : `${path}.${key}`);
  for (const [key, value] of Object.entries(record)) {
    const child = schema.properties?.[key];
    if (child && key !== 'configMapRef') out.push(...configMapRefsIn(child, value, join(key)));
  }
  return out;
}

/** The CRD's rule (exactly, or at most, one of the text and configMapRef), for folder mode. */
export function configMapChoiceProblems(found: readonly FoundConfigMapRef[]): ConfigProblem[] {
  return found.flatMap((f) => {
    if (f.inline && f.ref)
      return [{ path: memberPath(f, 'configMapRef'), message: `exactly one of ${f.textField} or configMapRef` }];
    if (f.required && !f.inline && !f.ref)
      return [{ path: memberPath(f, f.textField), message: `required (or configMapRef)` }];
    return [];
  });
}

/**
 * For a policy type's validate(): a config whose texts are not all inline. The operator puts each
 * ConfigMap's text in place of its configMapRef, so extproc never sees one; a config that still has
 * one did not come from the compiler.
 */
export function inlineTextProblems(schema: JSONSchema, config: unknown): ConfigProblem[] {
  const found = configMapRefsIn(schema, config);
  return [
    ...configMapChoiceProblems(found),
    ...found
      .filter((f) => f.ref && !f.inline)
      .map((f) => ({
        path: memberPath(f, 'configMapRef'),
        message: `ConfigMap "${f.ref!.name}" key "${f.ref!.key}" was not resolved: the operator puts its text in ${f.textField}`,
      })),
  ];
}

/** The object at a path configMapRefsIn reported. */
function at(config: unknown, path: string): Record<string, unknown> | undefined {
  let node = config;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node !== null && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
}

/**
 * A copy of the config with each found ref replaced by its text (`texts` keyed by the found path):
 * the inline form, which is what the snapshot carries.
 */
export function withConfigMapTexts(
  config: unknown,
  texts: ReadonlyMap<string, FoundConfigMapRef & { text: string }>,
): unknown {
  const copy = structuredClone(config);
  for (const [path, { textField, text }] of texts) {
    const holder = at(copy, path);
    if (!holder) continue;
    delete holder.configMapRef;
    holder[textField] = text;
  }
  return copy;
}

/** A value that is either a literal T or a reference to a flow variable. */
export type RefOr<T> = T | { ref: string };

/** A key of a Secret in the policy's namespace (labelled gatehouse.dev/credential in a cluster). */
export interface SecretRef {
  secretRef: { name: string; key: string };
}

/**
 * A literal, `{ref: VARIABLE}` or `{secretRef: {name, key}}`: for values that may be secrets (a
 * password sent upstream). The compiler resolves secret refs; the snapshot carries the value apart from
 * the config (RuntimeSnapshot.policy_secrets), so configs, logs and status never hold it.
 */
export function refOrSecret(literal: JSONSchema): JSONSchema {
  return {
    ...refOr(literal),
    description: `${literal.description ?? 'A literal.'} Or {ref: VARIABLE}: read from that flow variable at request time. Or {secretRef: {name, key}}: read from a key of a Secret in the policy's namespace.`,
    'x-gatehouse-secret-ref': true,
  };
}

export type RefOrSecret<T> = RefOr<T> | SecretRef;

/** The Secret a `{secretRef}` value names, or undefined for anything else. */
export function secretRefOf(value: unknown): SecretRef['secretRef'] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const ref = (value as { secretRef?: unknown }).secretRef;
  if (ref === null || typeof ref !== 'object') return undefined;
  const { name, key } = ref as { name?: unknown; key?: unknown };
  return typeof name === 'string' && typeof key === 'string' ? { name, key } : undefined;
}

/** How the snapshot's policy_secrets map names a Secret key of a namespace. */
export function policySecretId(namespace: string, ref: SecretRef['secretRef']): string {
  return `${namespace}/${ref.name}/${ref.key}`;
}

export interface FoundSecretRef {
  /** Relative to the member, as ConfigProblem paths are: "password". */
  path: string;
  ref: SecretRef['secretRef'];
}

/** Every `{secretRef}` value of a schema-valid config, at the nodes whose schema accepts one. */
export function secretRefsIn(schema: JSONSchema, config: unknown, path = ''): FoundSecretRef[] {
  if (config === null || typeof config !== 'object') return [];
  if (schema['x-gatehouse-secret-ref']) {
    const ref = secretRefOf(config);
    return ref ? [{ path, ref }] : [];
  }
  const join = (key: string) => (path === '' ? key : `${path}.${key}`);
  if (Array.isArray(config))
    return schema.items ? config.flatMap((item, i) => secretRefsIn(schema.items!, item, `${path}[${i}]`)) : [];
  const out: FoundSecretRef[] = [];
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    const child =
      schema.properties?.[key] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (child) out.push(...secretRefsIn(child, value, join(key)));
  }
  return out;
}

/**
 * The schema as the ApiPolicy CRD embeds it. `x-gatehouse-ref-or` is not an OpenAPI field (kubectl's
 * strict field validation rejects unknown fields of a CRD), so each ref-or node becomes `refOrCrdNode`.
 */
export function toCrdSchema(schema: JSONSchema): JSONSchema {
  return mapSchema(schema, (node) => {
    const {
      'x-gatehouse-ref-or': literal,
      'x-gatehouse-secret-ref': secret,
      'x-gatehouse-configmap-text': _configMapText,
      ...rest
    } = node;
    return literal === undefined ? rest : refOrCrdNode(literal, rest.description, secret === true);
  });
}

type JsonType = 'string' | 'number' | 'object' | 'array' | 'boolean';

/**
 * For each JSON type, value validations that every value of that type fails and every value of
 * another type passes (JSON Schema applies pattern to strings only, minimum to numbers, and so on).
 * A branch of an untyped node uses them to say "not a string", "not a number", ... without `type`,
 * which structural schemas forbid inside anyOf.
 */
const refuses: Record<JsonType, JSONSchema> = {
  string: { pattern: '[^\\s\\S]' },
  number: { minimum: 1, maximum: 0 },
  object: { minProperties: 1, maxProperties: 0 },
  array: { minItems: 1, maxItems: 0 },
  boolean: { not: { enum: [true, false] } },
};

function refusing(types: JsonType[]): JSONSchema {
  return Object.assign({}, ...types.map((t) => refuses[t])) as JSONSchema;
}

const jsonTypes: JsonType[] = ['string', 'number', 'object', 'array', 'boolean'];

/**
 * A ref-or node as the apiserver checks it: untyped and open (the only structural way to hold a
 * string or an object), with `anyOf: [literal, {ref}]` written in typeless value validations. The
 * kube-apiserver cannot run CEL on an untyped node (it has no CEL type: "unable to convert structural
 * schema to CEL declarations"), nor can a parent's rule read it ("undefined field"), so this is the
 * only way it refuses `rate: "thirty per minute"` or `allow: {reference: x}`. The literal branch keeps
 * the literal's own validations (pattern, bounds, enum; integers as multipleOf 1) and refuses every
 * other JSON type; the ref branch requires `ref` alone and refuses every non-object. `properties.ref`
 * types the member wherever the value is an object.
 */
export function refOrCrdNode(literal: JSONSchema, description?: string, secret = false): JSONSchema {
  const { type, description: _d, default: _default, ...checks } = literal;
  const own: JsonType | undefined = type === 'integer' ? 'number' : type === 'object' ? undefined : type;
  if (own === undefined) throw new Error('ref-or literals are scalars');
  const literalBranch: JSONSchema =
    literal.enum !== undefined
      ? checks // enum already refuses every value of another type
      : {
          ...checks,
          ...(type === 'integer' ? { multipleOf: 1 } : {}),
          ...refusing(jsonTypes.filter((t) => t !== own)),
        };
  const refBranch: JSONSchema = {
    required: ['ref'],
    maxProperties: 1,
    ...refusing(jsonTypes.filter((t) => t !== 'object')),
  };
  // A secret ref node (refOrSecret) takes {secretRef: {name, key}} too: a third branch, and the member
  // typed (exactly name and key: maxProperties, as the compiler's additionalProperties: false).
  const secretBranch: JSONSchema = {
    required: ['secretRef'],
    maxProperties: 1,
    ...refusing(jsonTypes.filter((t) => t !== 'object')),
  };
  const { additionalProperties: _closed, ...secretMember } = secretRefMember;
  return {
    ...(description !== undefined ? { description } : {}),
    'x-kubernetes-preserve-unknown-fields': true,
    properties: { ref: refMember, ...(secret ? { secretRef: { ...secretMember, maxProperties: 2 } } : {}) },
    anyOf: [literalBranch, refBranch, ...(secret ? [secretBranch] : [])],
  };
}

const refSchema: JSONSchema = {
  type: 'object',
  required: ['ref'],
  additionalProperties: false,
  properties: { ref: refMember },
};

const secretRefSchema: JSONSchema = {
  type: 'object',
  required: ['secretRef'],
  additionalProperties: false,
  properties: { secretRef: secretRefMember },
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
        anyOf: [toValidationSchema(literal), refSchema, ...(node['x-gatehouse-secret-ref'] ? [secretRefSchema] : [])],
      };
    }
    const {
      'x-kubernetes-preserve-unknown-fields': _open,
      'x-kubernetes-validations': _rules,
      'x-kubernetes-int-or-string': _intOrString,
      'x-gatehouse-configmap-text': _configMapText,
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

/** A list of strings with bounded size (every input bounded, docs/architecture.md#tests-and-quality-bars). */
export function stringList(
  description: string,
  maxItems = 64,
  maxLength = 1024,
  itemDescription = `One entry (1 to ${maxLength} characters).`,
): JSONSchema {
  return {
    type: 'array',
    description,
    maxItems,
    items: { type: 'string', minLength: 1, maxLength, description: itemDescription },
  };
}

/** A free-keyed map of string values (header name -> value template, ...). */
export function stringMap(description: string, valueDescription = 'The value (at most 8192 characters).'): JSONSchema {
  return {
    type: 'object',
    description,
    additionalProperties: { type: 'string', maxLength: 8192, description: valueDescription },
  };
}

/** A problem found in a config that the schema cannot express: `path` is relative to the member. */
export interface ConfigProblem {
  path: string;
  message: string;
}
