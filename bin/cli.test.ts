// The CLI as a user runs it: the real bin under Node 24, its help, flags and exit codes. The help is
// held against the command specs it is rendered from: every flag listed with its value, description,
// choices and default, nothing listed that is not a flag, and each default shown as text that parses
// back to the default itself.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defaultHelp } from '../lib/cli/command.ts';
import { commands } from './cli.ts';

const root = new URL('..', import.meta.url).pathname;
const node = `${root}node_modules/.bin/node`;

function gatehouse(...args: string[]) {
  const run = spawnSync(node, [`${root}bin/gatehouse.js`, ...args], { encoding: 'utf8', timeout: 15_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('gatehouse CLI', () => {
  it('lists every command with its summary', () => {
    const { code, stdout } = gatehouse('--help');
    expect(code).toBe(0);
    for (const name of ['operator', 'extproc', 'compile', 'status', 'dev', 'devproxy'])
      expect(stdout).toMatch(new RegExp(`^  ${name} +${commands[name]!.summary.replace(/[()+]/g, '\\$&')}$`, 'm'));
  });

  it('exits 2 with the help when no command is given', () => {
    expect(gatehouse().code).toBe(2);
  });

  it.each(Object.keys(commands))('%s --help lists every flag with its value, choices and default', (name) => {
    const command = commands[name]!;
    const { code, stdout } = gatehouse(name, '--help');
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: ${command.usage}\n`);
    const lines = stdout.split('\n');
    for (const [flag, spec] of Object.entries(command.flags)) {
      const line = lines.find((l) => new RegExp(`^  (-${spec.short}, |    )--${flag} `).test(l));
      expect(line, `--${flag} in ${name} --help`).toBeDefined();
      expect(line).toContain(`--${flag} ${spec.value} `);
      expect(line).toContain(spec.description);
      for (const choice of spec.choices ?? []) expect(line).toContain(choice);
      const def = defaultHelp(spec);
      if (def === undefined) expect(line).not.toContain('(default:');
      else expect(line!.endsWith(`(default: ${def})`), `${line} ends with its default ${def}`).toBe(true);
      if (spec.env !== undefined) expect(line).toContain(`$${spec.env}`);
      if (spec.default !== undefined) {
        expect(line).toContain(spec.format(spec.default));
        expect(spec.parse(spec.format(spec.default)), `--${flag}'s default as help shows it`).toEqual(spec.default);
      }
    }
    // Nothing else: every flag the help or the usage line names is one of the command's.
    const named = [...stdout.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!);
    for (const flag of named) {
      if (flag === 'help' || /-\*$/.test(flag)) continue;
      expect(Object.keys(command.flags), `--${flag} named in ${name} --help`).toContain(flag);
    }
  });

  it('--help loads no plane and no package: only lib/cli, the command modules and bin', () => {
    // Node's module hooks see every module the bin loads for `--help` of each command.
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
      const { main } = await import(${JSON.stringify(`${root}bin/cli.ts`)});
      for (const name of ${JSON.stringify(Object.keys(commands))}) await main([name, '--help']);
      process.stderr.write(JSON.stringify(loaded));`;
    const run = spawnSync(node, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    expect(run.status, run.stderr).toBe(0);
    const loaded = (JSON.parse(run.stderr) as string[])
      .filter((u) => u.startsWith('file:'))
      .map((u) => new URL(u).pathname.slice(root.length))
      .sort();
    expect(loaded).toEqual([
      'bin/cli.ts',
      'bin/dev.ts',
      'devproxy/src/command.ts',
      'extproc/src/command.ts',
      'lib/cli/command.ts',
      'lib/cli/flags.ts',
      'lib/cli/tls.ts',
      'lib/errors.ts',
      'lib/tls/errors.ts',
      'lib/tls/policy.ts',
      'operator/src/command.ts',
    ]);
  });

  it('rejects an unknown flag with a usage error (exit 2) naming it', () => {
    const { code, stderr } = gatehouse('extproc', '--no-such-flag');
    expect(code).toBe(2);
    expect(stderr).toContain('--no-such-flag');
    expect(stderr).toContain('GH_ERR_USAGE');
  });

  it('rejects a port that is not a number, naming the command and the flag', () => {
    const { code, stderr } = gatehouse('operator', '--xds-port', 'abc');
    expect(code).toBe(2);
    expect(stderr).toContain('gatehouse operator: --xds-port: "abc" is not a port number');
  });

  it('rejects an unknown command', () => {
    const { code, stderr } = gatehouse('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
  });
});
