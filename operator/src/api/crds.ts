// Builds the CustomResourceDefinitions from the kinds table: structural schemas with CEL rules, the
// status subresource and printer columns. scripts/gen-crds.ts writes them to crds/.
import { toCrdSchema } from '../../../protos/policies/schema.ts';
import { group, version } from './common.ts';
import { kinds, type KindSpec } from './kinds.ts';
import { labelKeys, partOfValue } from './names.ts';
import type { OpenAPISchema } from './schema.ts';

/** The CRD form of a schema: compiler-only `x-gatehouse-*` keys dropped (the apiserver rejects them). */
function crdSchema(schema: OpenAPISchema): OpenAPISchema {
  return toCrdSchema(schema) as OpenAPISchema;
}

export function buildCrd(k: KindSpec): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${group}`, labels: { [labelKeys.partOf]: partOfValue } },
    spec: {
      group,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
        categories: ['gatehouse'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: k.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: k.description,
              required: ['spec'],
              properties: {
                apiVersion: {
                  type: 'string',
                  description: `The versioned schema of this object: ${group}/${version}.`,
                },
                kind: { type: 'string', description: `The kind of this object: ${k.kind}.` },
                // The apiserver refuses anything but name and generateName constraints here, a description
                // included: kubectl explain shows ObjectMeta's own.
                metadata: { type: 'object' },
                spec: crdSchema(k.spec.schema),
                status: crdSchema(k.status.schema),
              },
            },
          },
        },
      ],
    },
  };
}

/** File name (under crds/) and CRD object for every kind. */
export function buildCrds(): { file: string; crd: Record<string, unknown> }[] {
  return kinds.map((k) => ({ file: `${group}_${k.plural}.yaml`, crd: buildCrd(k) }));
}
