// docs/errors.md is generated from lib/error-codes.ts (scripts/gen-error-docs.ts): the checked-in file
// must be what the generator writes now, with a row for every code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCodes } from '../lib/error-codes.ts';
import { renderErrorDocs } from './error-docs.ts';

const errorsDoc = join(import.meta.dirname, '../docs/errors.md');

describe('docs/errors.md', () => {
  const rendered = renderErrorDocs();

  it('is up to date (run `npm run gen:errors-docs`)', () => {
    expect(readFileSync(errorsDoc, 'utf8')).toBe(rendered);
  });

  it('has one row for every code, with its status or exit code', () => {
    const rows = rendered.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows).toHaveLength(errorCodes.length);
    for (const e of errorCodes) {
      const row = rows.find((l) => l.startsWith(`| \`${e.code}\` |`));
      expect(row, e.code).toBeDefined();
      const status =
        e.family === 'fault' ? String(e.httpStatus ?? e.statusNote) : e.family === 'error' ? String(e.exitCode) : '';
      expect(row!.split(' | ')[1], e.code).toContain(status);
    }
  });

  it('groups the codes by family and area', () => {
    expect(rendered).toContain('\n## Faults: what a client sees\n');
    expect(rendered).toContain('\n### policies/traffic\n');
    const row = rendered.split('\n').find((l) => l.startsWith('| `policies.ratelimit.SpikeArrestViolation` |'));
    expect(row).toBe(
      '| `policies.ratelimit.SpikeArrestViolation` | 429 | SpikeArrest: the request comes sooner than the rate allows. | the same |',
    );
  });
});
