// Validates an object's spec the way the apiserver would (schema with defaults, then the CEL rules as
// their TypeScript predicates, then list uniqueness), for sources no apiserver has checked (folder
// mode). Policy configs are checked here too (protos/policies toValidationSchema: ref-or nodes become
// anyOf [literal, {ref}], and unknown members are typos to report rather than fields to prune).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { KindSpec } from './kinds.ts';
import { toValidationSchema, type JSONSchema } from '../../../protos/policies/schema.ts';
import type { Schema } from './schema.ts';

export interface FieldError {
  /** "spec.target.url" */
  field: string;
  message: string;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
// Most objects are valid: a validator that stops at the first error decides, and only a failed
// object is checked again with the one that collects every error (several times slower).
const firstError = addFormats(new Ajv({ allErrors: false, useDefaults: true, strict: false }));
const allErrors = addFormats(new Ajv({ allErrors: true, useDefaults: true, strict: false }));
const compiled = new Map<KindSpec, { fast: ValidateFunction; full: ValidateFunction }>();

function validatorsFor(kind: KindSpec): { fast: ValidateFunction; full: ValidateFunction } {
  let fns = compiled.get(kind);
  if (!fns) {
    const schema = toValidationSchema(kind.spec.schema as JSONSchema);
    fns = { fast: firstError.compile(schema), full: allErrors.compile(schema) };
    compiled.set(kind, fns);
  }
  return fns;
}

const walkNeeded = new WeakMap<Schema<unknown>, boolean>();

/** Whether a node or anything under it has rules or list-uniqueness to check. */
function needsWalk(node: Schema<unknown>): boolean {
  let needed = walkNeeded.get(node);
  if (needed === undefined) {
    const listType = node.schema['x-kubernetes-list-type'];
    needed = node.rules.length > 0 || listType === 'set' || listType === 'map' ||
      Object.values(node.children).some(needsWalk) || (node.items !== undefined && needsWalk(node.items)) ||
      (node.values !== undefined && needsWalk(node.values));
    walkNeeded.set(node, needed);
  }
  return needed;
}

function pointerToPath(base: string, pointer: string): string {
  return pointer.split('/').slice(1).reduce((path, raw) => {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    return /^\d+$/.test(seg) ? `${path}[${seg}]` : `${path}.${seg}`;
  }, base);
}

function describe(err: ErrorObject): FieldError {
  const field = pointerToPath('spec', err.instancePath);
  switch (err.keyword) {
    case 'required': return { field: `${field}.${(err.params as { missingProperty: string }).missingProperty}`, message: 'required field is missing' };
    case 'additionalProperties': return { field: `${field}.${(err.params as { additionalProperty: string }).additionalProperty}`, message: 'unknown field' };
    case 'enum': return { field, message: `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` };
    case 'anyOf': return { field, message: 'must be a literal value or {ref: VARIABLE}' };
    default: return { field, message: err.message ?? 'is invalid' };
  }
}

/** Ajv errors inside a failed anyOf are noise: keep the anyOf's own one. */
function withoutBranchNoise(errors: ErrorObject[]): ErrorObject[] {
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  return errors.filter((e) => e.keyword === 'anyOf' || !anyOfPaths.some((p) => e.schemaPath.startsWith(`${p}/`)));
}

function checkRules(node: Schema<unknown>, value: unknown, path: string, out: FieldError[]): void {
  if (value === undefined || value === null || !needsWalk(node)) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => node.items && checkRules(node.items, item, `${path}[${i}]`, out));
    const listType = node.schema['x-kubernetes-list-type'];
    if (listType === 'set' || listType === 'map') {
      const keys = node.schema['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(listType === 'set' ? item : keys.map((k) => (item as Record<string, unknown>)[k]));
        if (seen.has(key)) out.push({ field: `${path}[${i}]`, message: `duplicate entry ${key}` });
        seen.add(key);
      });
    }
    return;
  }
  if (typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(node.children)) checkRules(child, record[key], `${path}.${key}`, out);
  if (node.values) for (const [key, v] of Object.entries(record)) checkRules(node.values, v, `${path}.${key}`, out);
  for (const r of node.rules) {
    if (!r.check(value as never)) out.push({ field: path + (r.fieldPath ?? ''), message: r.explain?.(value as never) ?? r.message });
  }
}

/**
 * Validates a spec in place: fills in defaults, returns every error. Rules run only on a spec the
 * schema accepted, because their predicates trust its shape (as CEL does).
 */
export function validateSpec(kind: KindSpec, spec: unknown): FieldError[] {
  const { fast, full } = validatorsFor(kind);
  if (!fast(spec)) {
    full(spec);
    return withoutBranchNoise(full.errors ?? []).map(describe);
  }
  const errors: FieldError[] = [];
  checkRules(kind.spec, spec, 'spec', errors);
  return errors;
}
