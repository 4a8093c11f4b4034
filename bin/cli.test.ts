// The CLI as a user runs it: the real bin under Node 24, its help, flags and exit codes.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commands } from './cli.ts';

const root = new URL('..', import.meta.url).pathname;

function gatehouse(...args: string[]) {
  const run = spawnSync(`${root}node_modules/.bin/node`, [`${root}bin/gatehouse.js`, ...args], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('gatehouse CLI', () => {
  it('lists every command of DESIGN 1', () => {
    const { code, stdout } = gatehouse('--help');
    expect(code).toBe(0);
    for (const name of ['operator', 'extproc', 'compile', 'dev', 'devproxy'])
      expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('exits 2 with the help when no command is given', () => {
    expect(gatehouse().code).toBe(2);
  });

  it.each(Object.keys(commands))('%s --help shows its flags and defaults', (name) => {
    const { code, stdout } = gatehouse(name, '--help');
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: gatehouse ${name}`);
    for (const [flag, spec] of Object.entries(commands[name]!.options)) {
      expect(stdout).toContain(`--${flag}`);
      if (spec.default !== undefined) expect(stdout).toContain(`(default: ${spec.default})`);
    }
  });

  it('rejects an unknown flag with a usage error (exit 2) naming it', () => {
    const { code, stderr } = gatehouse('extproc', '--no-such-flag');
    expect(code).toBe(2);
    expect(stderr).toContain('--no-such-flag');
    expect(stderr).toContain('GH_ERR_USAGE');
  });

  it('rejects a port that is not a number', () => {
    const { code, stderr } = gatehouse('operator', '--xds-port', 'abc');
    expect(code).toBe(2);
    expect(stderr).toContain('--xds-port: "abc" is not a port number');
  });

  it('rejects an unknown command', () => {
    const { code, stderr } = gatehouse('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
  });
});
