// docs/failure-modes.md stays true to the code: it names every bound's flag and fault, and names no
// extproc flag that does not exist.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extprocCommand } from './command.ts';
import { GATEHOUSE_FAULTS } from './flow/gatehouse-faults.ts';

const doc = readFileSync(new URL('../../docs/failure-modes.md', import.meta.url), 'utf8');

describe('docs/failure-modes.md', () => {
  it('lists every bound flag with its default, and every fault a bound answers', () => {
    const bounds = [
      'max-body-bytes',
      'max-headers-count',
      'max-request-headers-kb',
      'stream-idle-timeout-ms',
      'max-streams',
      'max-connection-streams',
      'max-buffered-body-bytes',
      'work-queue',
      'work-budget-ms',
      'offload-min-bytes',
      'work-threads',
    ];
    for (const flag of bounds) {
      expect(extprocCommand.flags[flag], `--${flag} is an extproc flag`).toBeDefined();
      expect(doc, `--${flag} in the doc`).toMatch(new RegExp(`\\| \`--${flag}\` \\|`));
    }
    // Not bounds: routing, readiness, Redis, and the fault that is never sent.
    const notBounds = [
      'gatehouse.RouteNotFound',
      'gatehouse.NotReady',
      'gatehouse.StoreUnavailable',
      'gatehouse.Cancelled',
    ];
    for (const code of Object.keys(GATEHOUSE_FAULTS).filter((c) => !notBounds.includes(c)))
      expect(doc, code).toContain(`\`${code}\``);
  });

  it('names no extproc flag that does not exist', () => {
    for (const [, flag] of doc.matchAll(/`--([a-z][a-z0-9-]*)`/g))
      expect(Object.keys(extprocCommand.flags), `--${flag}`).toContain(flag);
  });
});
