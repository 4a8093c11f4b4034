// A Python virtualenv with the interop libraries of e2e/env/python/requirements.txt (PyJWT, Authlib,
// ...): tests check Gatehouse against clients we did not write. Built once with the machine's python3
// and pip from PyPI, then cached like the test control plane (testbin.ts) under
// ~/.cache/gatehouse/python-<hash of the requirements and the Python version>; one builder at a time.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestEnvToolMissingError } from './errors.ts';
import { gatehouseCacheBase, withBuildLock } from './testbin.ts';

const requirements = join(import.meta.dirname, 'python', 'requirements.txt');

function python3Version(): string {
  const run = spawnSync('python3', ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' });
  if (run.status !== 0)
    throw new TestEnvToolMissingError('python3 is not installed: the interop tests need Python >= 3.9 with venv');
  return run.stdout.trim();
}

/** The venv's python executable, building the venv first when the cache has none for these requirements. */
export function ensurePython(log: (line: string) => void = () => {}): string {
  const digest = createHash('sha256').update(python3Version()).update('\0').update(readFileSync(requirements));
  const dir = join(gatehouseCacheBase(), `python-${digest.digest('hex').slice(0, 12)}`);
  const python = join(dir, 'bin', 'python');
  const done = join(dir, '.complete');
  if (existsSync(done)) return python;
  withBuildLock(dir, log, () => {
    if (existsSync(done)) return;
    rmSync(dir, { recursive: true, force: true });
    log(`building the interop Python venv in ${dir}`);
    for (const [cmd, args] of [
      ['python3', ['-m', 'venv', dir]],
      [
        python,
        ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--only-binary=:all:', '-r', requirements],
      ],
    ] as const) {
      const run = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
      if (run.status !== 0)
        throw new TestEnvToolMissingError(
          `${cmd} ${args.join(' ')} failed (exit ${run.status}): the interop tests need python3-venv and PyPI`,
        );
    }
    // Written last: a build cut short is never taken for a complete one.
    spawnSync(python, ['-c', `open(${JSON.stringify(done)}, 'w').close()`]);
  });
  return python;
}

/**
 * Runs a Python script in the venv without blocking the event loop (the servers under test may run in
 * this process); resolves with its stdout, rejects with its stderr when it fails.
 */
export function runPython(script: string, args: string[] = [], input?: string): Promise<string> {
  const python = ensurePython();
  return new Promise((resolve, reject) => {
    const child = execFile(python, ['-c', script, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python failed (${err.message.split('\n')[0]}): ${stderr.slice(-2_000)}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? '');
  });
}
