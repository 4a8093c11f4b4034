// docs/api.md is generated from the schemas (scripts/gen-api-docs.ts): the checked-in file must be what
// the generator writes now, and it must document every field of every kind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyTypes } from '../../../protos/policies/index.ts';
import { renderApiDocs } from './api-docs.ts';
import { kinds } from './kinds.ts';

const apiDocs = join(import.meta.dirname, '../../../docs/api.md');

describe('docs/api.md', () => {
  const rendered = renderApiDocs();

  it('is up to date (run `npm run gen:api-docs`)', () => {
    expect(readFileSync(apiDocs, 'utf8')).toBe(rendered);
  });

  it('has a section for every kind and a row for fields at every depth', () => {
    for (const k of kinds) expect(rendered).toContain(`\n## ${k.kind}\n`);
    for (const field of [
      'spec.target.url',
      'spec.listeners[].tls.secretRef.name',
      'spec.quota.allow',
      'spec.spikeArrest.rate',
      'status.conditions[].type',
    ])
      expect(rendered).toContain(`| \`${field}\` |`);
  });

  it('shows ref-or values with the literal type and its checks', () => {
    const row = rendered.split('\n').find((l) => l.startsWith('| `spec.spikeArrest.rate` |'));
    expect(row).toContain('`string or {ref}`');
    expect(row).toContain('Matches `^[1-9][0-9]{0,8}(ps\\|pm)$`');
  });

  it('lists exactly the implemented policy types as the values of ApiPolicy spec.type', () => {
    const row = rendered.split('\n').find((l) => l.startsWith('| `spec.type` |') && l.includes('Quota'));
    const values = [...(row ?? '').matchAll(/`([A-Za-z0-9]+)`/g)].map((m) => m[1]).filter((v) => v !== 'string');
    expect(values.filter((v) => policyTypes.some((p) => p.type === v)).sort()).toEqual(
      policyTypes.map((p) => p.type).sort(),
    );
  });
});
