import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

it('sums the Tests lines of both vitest projects into one closing line', () => {
  const log = join(mkdtempSync(join(tmpdir(), 'summary-')), 'log');
  writeFileSync(
    log,
    [
      ' \x1b[2m      Tests \x1b[22m \x1b[1m\x1b[32m11 passed\x1b[39m\x1b[22m\x1b[90m (11)\x1b[39m',
      '      Tests  1 failed | 7 passed | 2 skipped (10)',
    ].join('\n'),
  );
  const out = execFileSync(join(root, 'node_modules/.bin/node'), [join(root, 'scripts/test-summary.ts'), log], {
    encoding: 'utf8',
  });
  expect(out).toBe('18 passed, 1 failed, 2 skipped\n');
});
