// crds/ (and the chart's copy, charts/gatehouse/crds/) is generated from this folder: the checked-in
// files must be what the generator writes now, and every schema must stay structural with its CEL rules within the apiserver's cost budget.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCrdFiles } from './crd-yaml.ts';
import { buildCrds } from './crds.ts';
import { policyCatalogue } from './apipolicy.ts';
import type { OpenAPISchema } from './schema.ts';

const root = join(import.meta.dirname, '../../..');
/** Both copies scripts/gen-crds.ts writes: the repository's and the Helm chart's. */
const crdDirs = ['crds', 'charts/gatehouse/crds'];

/** Walks a schema; `path` uses [] for items and {} for map values. */
function walk(
  node: OpenAPISchema,
  path: string,
  visit: (node: OpenAPISchema, path: string, parentArray?: OpenAPISchema) => void,
  parentArray?: OpenAPISchema,
): void {
  visit(node, path, parentArray);
  for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`, visit);
  if (node.items) walk(node.items, `${path}[]`, visit, node);
  if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}{}`, visit);
}

function schemaOf(crd: Record<string, unknown>): OpenAPISchema {
  return (crd as { spec: { versions: { schema: { openAPIV3Schema: OpenAPISchema } }[] } }).spec.versions[0]!.schema
    .openAPIV3Schema;
}

describe('crds/', () => {
  it.each(crdDirs)('%s is up to date (run `npm run gen:crds`)', (relative) => {
    const crdDir = join(root, relative);
    const expected = renderCrdFiles();
    expect(
      readdirSync(crdDir)
        .filter((f) => f.endsWith('.yaml'))
        .sort(),
    ).toEqual(expected.map((f) => f.file).sort());
    for (const { file, text } of expected)
      expect(readFileSync(join(crdDir, file), 'utf8'), `${relative}/${file}`).toBe(text);
  });

  it.each(buildCrds().map(({ file, crd }) => [file, crd] as const))('%s is structural and bounded', (_file, crd) => {
    const problems: string[] = [];
    const { apiVersion: _a, kind: _k, ...properties } = schemaOf(crd).properties!;
    // ApiPolicy configs come from protos/policies, whose own test checks them; no CEL rule here iterates them.
    const policyMembers = new Set(policyCatalogue.map((p) => `.spec.${p.member}`));
    walk({ type: 'object', properties }, '', (node, path, parentArray) => {
      if (
        [...policyMembers].some(
          (m) => path === m || path.startsWith(`${m}.`) || path.startsWith(`${m}[`) || path.startsWith(`${m}{`),
        )
      )
        return;
      const open = node['x-kubernetes-preserve-unknown-fields'] === true;
      if (node.type === undefined && !open) problems.push(`${path}: no type`);
      if (JSON.stringify(Object.keys(node)).includes('x-gatehouse')) problems.push(`${path}: compiler-only key`);
      if (node.properties && node.additionalProperties !== undefined)
        problems.push(`${path}: properties and additionalProperties`);
      // CEL cost estimates multiply by list sizes and string lengths: rules may only iterate bounded ones.
      if (node.type === 'array' && node.maxItems === undefined) problems.push(`${path}: unbounded list`);
      if (
        node.type === 'string' &&
        node.maxLength === undefined &&
        node.enum === undefined &&
        node.format !== 'date-time' &&
        !parentArray
      ) {
        problems.push(`${path}: unbounded string`);
      }
    });
    expect(problems).toEqual([]);
  });

  it.each(buildCrds().map(({ file, crd }) => [file, crd] as const))(
    '%s describes its kind and every field at every depth (kubectl explain)',
    (_file, crd) => {
      const root = schemaOf(crd);
      expect(root.description ?? '').toMatch(/\S/);
      const undescribed: string[] = [];
      const visit = (node: OpenAPISchema, path: string): void => {
        if (!/\S/.test(node.description ?? '')) undescribed.push(path);
        // A ref-or node (untyped and open: a literal or {ref}) is described as a whole.
        if (node.type === undefined && node['x-kubernetes-preserve-unknown-fields'] === true) return;
        for (const [k, v] of Object.entries(node.properties ?? {})) visit(v, `${path}.${k}`);
        if (node.items) visit(node.items, `${path}[]`);
        if (typeof node.additionalProperties === 'object') visit(node.additionalProperties, `${path}{}`);
      };
      // metadata may say nothing but name and generateName constraints (the apiserver's rule).
      for (const [k, v] of Object.entries(root.properties ?? {})) if (k !== 'metadata') visit(v, k);
      expect(undescribed).toEqual([]);
    },
  );

  it('gives every kind a status subresource, printer columns and Ready-style conditions', () => {
    for (const { crd } of buildCrds()) {
      const version = (crd as { spec: { versions: { subresources: object; additionalPrinterColumns: unknown[] }[] } })
        .spec.versions[0]!;
      expect(version.subresources).toEqual({ status: {} });
      expect(version.additionalPrinterColumns.length).toBeGreaterThanOrEqual(3);
      const status = schemaOf(crd).properties!.status!;
      expect(Object.keys(status.properties!)).toEqual(expect.arrayContaining(['observedGeneration', 'conditions']));
      expect(Object.keys(status.properties!.conditions!.items!.properties!).sort()).toEqual([
        'lastTransitionTime',
        'message',
        'observedGeneration',
        'reason',
        'status',
        'type',
      ]);
    }
  });

  it('shows base path, Accepted, Programmed, synced data planes and age for ApiProxy', () => {
    const crd = buildCrds().find((c) => c.file === 'gatehouse.dev_apiproxies.yaml')!.crd as {
      spec: { versions: { additionalPrinterColumns: { name: string }[] }[] };
    };
    expect(crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Base Path',
      'Accepted',
      'Programmed',
      'Synced',
      'Age',
    ]);
  });
});
