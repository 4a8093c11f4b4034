// A small typed builder for structural OpenAPI v3 schemas: each builder returns both the schema (for
// the CRDs and for ajv) and, at the type level, the TypeScript type of the values it accepts, so the
// API types are inferred from the schemas and the two can never drift apart. Cross-field rules carry
// their CEL (for the kube-apiserver) next to an equivalent TypeScript predicate (for folder mode,
// where no apiserver validates the manifests).
import type { JSONSchema } from '../../../protos/policies/schema.ts';

/** A CEL rule (x-kubernetes-validations) and the same rule as a predicate, for the compiler. */
export interface RuleSpec<T> {
  rule: string;
  message: string;
  /** Relative path (".url") the apiserver and the compiler report the failure on. */
  fieldPath?: string;
  /** CEL building a message from the value, with `explain` its TypeScript twin. */
  messageExpression?: string;
  explain?: (value: T) => string;
  /** Runs only on values that already passed the schema, so it may trust their shape. */
  check: (value: T) => boolean;
}

export type Rule = RuleSpec<never>;

export type OpenAPISchema = Omit<
  JSONSchema,
  'properties' | 'items' | 'additionalProperties' | 'x-kubernetes-validations'
> & {
  properties?: Record<string, OpenAPISchema>;
  items?: OpenAPISchema;
  additionalProperties?: boolean | OpenAPISchema;
  'x-kubernetes-validations'?: { rule: string; message: string; messageExpression?: string; fieldPath?: string }[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
};

/** A schema node as built here: the schema plus the rules whose predicates the compiler runs. */
export interface Schema<T> {
  readonly schema: OpenAPISchema;
  /** Rules of this node (not of its children), in declaration order. */
  readonly rules: readonly Rule[];
  readonly children: Readonly<Record<string, Schema<unknown>>>;
  readonly items?: Schema<unknown>;
  readonly values?: Schema<unknown>;
  readonly optional: boolean;
  /** Phantom: the TypeScript type of accepted values. */
  readonly _type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Props = Record<string, Schema<unknown>>;
type OptionalKeys<P extends Props> = { [K in keyof P]: P[K]['optional'] extends true ? K : never }[keyof P];
type RequiredKeys<P extends Props> = Exclude<keyof P, OptionalKeys<P>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<P extends Props> = Simplify<
  { [K in RequiredKeys<P>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> }
>;

type Extra = Pick<
  OpenAPISchema,
  | 'description'
  | 'default'
  | 'minLength'
  | 'maxLength'
  | 'pattern'
  | 'format'
  | 'minimum'
  | 'maximum'
  | 'minItems'
  | 'maxItems'
  | 'x-kubernetes-list-type'
  | 'x-kubernetes-list-map-keys'
>;

interface Optional {
  readonly optional: true;
}

function node<T>(schema: OpenAPISchema, parts: Partial<Schema<T>> = {}): Schema<T> {
  return { schema, rules: [], children: {}, optional: false, ...parts };
}

/** The same node with its own description: a shared node, described where it is used. */
export function described<S extends Schema<unknown>>(s: S, description: string): S {
  return { ...s, schema: { ...s.schema, description } };
}

/** Makes a member optional (left out of `required`). */
export function optional<T>(s: Schema<T>): Schema<T> & Optional {
  return { ...s, optional: true };
}

export function string(extra: Extra = {}): Schema<string> {
  return node({ type: 'string', maxLength: 1024, ...extra });
}

export function integer(extra: Extra = {}): Schema<number> {
  return node({ type: 'integer', ...extra });
}

export function number(extra: Extra = {}): Schema<number> {
  return node({ type: 'number', ...extra });
}

export function boolean(extra: Extra = {}): Schema<boolean> {
  return node({ type: 'boolean', ...extra });
}

export function enumOf<const V extends readonly string[]>(values: V, extra: Extra = {}): Schema<V[number]> {
  return node({ type: 'string', enum: values, ...extra });
}

export function array<T>(items: Schema<T>, extra: Extra = {}): Schema<T[]> {
  return node({ type: 'array', maxItems: 64, ...extra, items: items.schema }, { items });
}

/** A string-keyed map of values (a JSON object with free keys). */
export function map<T>(values: Schema<T>, extra: Extra = {}): Schema<Record<string, T>> {
  return node({ type: 'object', ...extra, additionalProperties: values.schema }, { values });
}

export function object<P extends Props>(
  props: P,
  extra: Extra & { rules?: RuleSpec<ObjectOf<P>>[] } = {},
): Schema<ObjectOf<P>> {
  const { rules = [], ...rest } = extra;
  const required = Object.entries(props)
    .filter(([, p]) => !p.optional)
    .map(([k]) => k);
  const schema: OpenAPISchema = {
    type: 'object',
    ...rest,
    ...(required.length > 0 ? { required } : {}),
    properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.schema])),
    ...(rules.length > 0
      ? {
          'x-kubernetes-validations': rules.map(({ rule, message, messageExpression, fieldPath }) => ({
            rule,
            message,
            ...(messageExpression ? { messageExpression } : {}),
            ...(fieldPath ? { fieldPath } : {}),
          })),
        }
      : {}),
  };
  return node(schema, { rules, children: props });
}

/** Embeds a JSON Schema written elsewhere (policy configs) as is; its values are not typed here. */
export function raw(schema: JSONSchema): Schema<unknown> {
  return node(schema as OpenAPISchema);
}

/** Kubernetes duration strings: "200ms", "30s", "5m", "2160h", "1h30m". */
export const durationPattern = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

export function duration(extra: Extra = {}): Schema<string> {
  return string({ pattern: durationPattern, maxLength: 32, ...extra });
}
