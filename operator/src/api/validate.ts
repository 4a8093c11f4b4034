// Validates an object's spec the way the apiserver would (schema, then the CEL rules as their
// TypeScript predicates, then list uniqueness), for sources no apiserver has checked (folder
// mode). ApiPolicy configs are checked here too (protos/policies toValidationSchema: ref-or nodes become
// anyOf [literal, {ref}], and unknown members are typos to report rather than fields to prune).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { KindSpec } from './kinds.ts';
import { toValidationSchema } from '../../../protos/policies/schema.ts';
import type { Schema } from './schema.ts';

export interface FieldError {
  /** "spec.target.url" */
  field: string;
  message: string;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

interface Validators {
  fast: ValidateFunction;
  full: ValidateFunction;
}

/**
 * Most objects are valid: a validator that stops at the first error decides, and only a failed
 * object is checked again by one that collects every error (several times slower). Kinds whose spec
 * goes into the snapshot as is get the schema defaults filled in (into a copy), as the apiserver
 * would; the others are only read, with defaults applied where they are used.
 */
const ajvs = {
  plain: {
    fast: addFormats(new Ajv({ allErrors: false, strict: false })),
    full: addFormats(new Ajv({ allErrors: true, verbose: true, strict: false })),
  },
  defaults: {
    fast: addFormats(new Ajv({ allErrors: false, useDefaults: true, strict: false })),
    full: addFormats(new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: false })),
  },
};
const compiled = new Map<KindSpec, Validators>();

function validatorsFor(kind: KindSpec): Validators {
  let fns = compiled.get(kind);
  if (!fns) {
    const schema = toValidationSchema(kind.spec.schema);
    const { fast, full } = kind.fillDefaults ? ajvs.defaults : ajvs.plain;
    fns = { fast: fast.compile(schema), full: full.compile(schema) };
    compiled.set(kind, fns);
  }
  return fns;
}

/** Deep copy of parsed YAML/JSON data (much faster than structuredClone on large inputs). */
function clonePlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clonePlain);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    // A "__proto__" key from YAML is data: define it, never assign it (which would set the prototype).
    if (key === '__proto__')
      Object.defineProperty(out, key, {
        value: clonePlain(record[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else out[key] = clonePlain(record[key]);
  }
  return out;
}

const walkNeeded = new WeakMap<Schema<unknown>, boolean>();

/** Whether a node or anything under it has rules or list-uniqueness to check. */
function needsWalk(node: Schema<unknown>): boolean {
  let needed = walkNeeded.get(node);
  if (needed === undefined) {
    const listType = node.schema['x-kubernetes-list-type'];
    needed =
      node.rules.length > 0 ||
      listType === 'set' ||
      listType === 'map' ||
      Object.values(node.children).some(needsWalk) ||
      (node.items !== undefined && needsWalk(node.items)) ||
      (node.values !== undefined && needsWalk(node.values));
    walkNeeded.set(node, needed);
  }
  return needed;
}

function pointerToPath(base: string, pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .reduce((path, raw) => {
      const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
      return /^\d+$/.test(seg) ? `${path}[${seg}]` : `${path}.${seg}`;
    }, base);
}

function describe(err: ErrorObject): FieldError {
  const field = pointerToPath('spec', err.instancePath);
  switch (err.keyword) {
    case 'required':
      return {
        field: `${field}.${(err.params as { missingProperty: string }).missingProperty}`,
        message: 'required field is missing',
      };
    case 'additionalProperties':
      return {
        field: `${field}.${(err.params as { additionalProperty: string }).additionalProperty}`,
        message: 'unknown field',
      };
    case 'enum':
      return {
        field,
        message: `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`,
      };
    case 'anyOf':
      // verbose: err.schema is the anyOf's branches; a third one is {secretRef} (toValidationSchema).
      return {
        field,
        message:
          Array.isArray(err.schema) && err.schema.length > 2
            ? 'must be a literal value, {ref: VARIABLE} or {secretRef: {name, key}}'
            : 'must be a literal value or {ref: VARIABLE}',
      };
    default:
      return { field, message: err.message ?? 'is invalid' };
  }
}

/** Ajv errors inside a failed anyOf are noise: keep the anyOf's own one. */
function withoutBranchNoise(errors: ErrorObject[]): ErrorObject[] {
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  return errors.filter((e) => e.keyword === 'anyOf' || !anyOfPaths.some((p) => e.schemaPath.startsWith(`${p}/`)));
}

/** `path` is a stack of segments, joined only when a rule fails: most walks find nothing. */
function checkRules(node: Schema<unknown>, value: unknown, path: string[], out: FieldError[]): void {
  if (value === undefined || value === null || !needsWalk(node)) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!node.items) break;
      path.push(`[${i}]`);
      checkRules(node.items, value[i], path, out);
      path.pop();
    }
    const listType = node.schema['x-kubernetes-list-type'];
    if (listType === 'set' || listType === 'map') {
      const keys = node.schema['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(listType === 'set' ? item : keys.map((k) => (item as Record<string, unknown>)[k]));
        if (seen.has(key)) out.push({ field: `${path.join('')}[${i}]`, message: `duplicate entry ${key}` });
        seen.add(key);
      });
    }
    return;
  }
  if (typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  const visit = (child: Schema<unknown>, key: string) => {
    path.push(`.${key}`);
    checkRules(child, record[key], path, out);
    path.pop();
  };
  for (const [key, child] of Object.entries(node.children)) visit(child, key);
  if (node.values) for (const key of Object.keys(record)) visit(node.values, key);
  for (const r of node.rules) {
    if (!r.check(value as never))
      out.push({ field: path.join('') + (r.fieldPath ?? ''), message: r.explain?.(value as never) ?? r.message });
  }
}

export interface SpecValidation {
  errors: FieldError[];
  /** The spec to use: the input itself, or a copy with defaults filled in (kinds with fillDefaults). */
  spec: unknown;
}

/**
 * Results by input spec, per kind: an object's spec is not modified once it is read (the informers
 * replace an object on every change; the folder source parses files anew), so the same spec object
 * gets the same answer, and the operator, recompiling all objects on any change, validates (and
 * copies) only the specs that changed (docs/architecture.md#the-operator-at-scale-issue-20). Weak:
 * an entry goes when its spec does. Callers treat the result as read-only, as they do the input.
 */
const validated = new WeakMap<object, Map<KindSpec, SpecValidation>>();

/**
 * Validates a spec and returns every error; never modifies the input. Rules run only on a spec the
 * schema accepted, because their predicates trust its shape (as CEL does).
 */
export function validateSpec(kind: KindSpec, input: unknown): SpecValidation {
  if (typeof input !== 'object' || input === null) return validateSpecNow(kind, input);
  let byKind = validated.get(input);
  const known = byKind?.get(kind);
  if (known) return known;
  const result = validateSpecNow(kind, input);
  if (!byKind) validated.set(input, (byKind = new Map<KindSpec, SpecValidation>()));
  byKind.set(kind, result);
  return result;
}

function validateSpecNow(kind: KindSpec, input: unknown): SpecValidation {
  const spec = kind.fillDefaults ? clonePlain(input) : input;
  const { fast, full } = validatorsFor(kind);
  if (!fast(spec)) {
    full(spec);
    return { errors: withoutBranchNoise(full.errors ?? []).map(describe), spec };
  }
  const errors: FieldError[] = [];
  checkRules(kind.spec, spec, ['spec'], errors);
  return { errors, spec };
}
