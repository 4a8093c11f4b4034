// The Go no-op ext_proc server of `npm run bench:extproc` (bench/go-noop-extproc): built on demand
// with `go build` from the Go module proxy into ~/.cache/gatehouse/bench, keyed by a hash of the
// module's sources, one build at a time across processes (the test environment's cache and lock,
// e2e/env/testbin.ts). GATEHOUSE_GO_NOOP_EXTPROC names an existing binary instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gatehouseCacheBase, withBuildLock } from '../e2e/env/testbin.ts';

const moduleDir = new URL('./go-noop-extproc/', import.meta.url).pathname;
const NAME = 'go-noop-extproc';

/** The binary's path, building it first when the cache does not hold this version of the sources. */
export function ensureGoNoopExtproc(log: (line: string) => void = () => {}): string {
  const given = process.env.GATEHOUSE_GO_NOOP_EXTPROC;
  if (given) {
    if (!existsSync(given)) throw new Error(`GATEHOUSE_GO_NOOP_EXTPROC names ${given}, which does not exist`);
    return given;
  }
  const digest = createHash('sha256');
  for (const file of readdirSync(moduleDir)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
    .sort())
    digest.update(`${file}\0`).update(readFileSync(join(moduleDir, file)));
  const dir = join(gatehouseCacheBase(), 'bench', `${NAME}-${digest.digest('hex').slice(0, 12)}`);
  const binary = join(dir, NAME);
  if (existsSync(binary)) return binary;
  withBuildLock(dir, log, () => {
    if (existsSync(binary)) return;
    if (spawnSync('go', ['version']).status !== 0)
      throw new Error(
        `Go is not installed, and the bench's Go baseline (${moduleDir}) is built with it: install Go >= 1.26 or set GATEHOUSE_GO_NOOP_EXTPROC`,
      );
    // Build into a scratch folder and rename, so an interrupted build never leaves a half cache.
    const scratch = `${dir}.partial-${process.pid}`;
    mkdirSync(scratch, { recursive: true });
    try {
      log(`building ${NAME} from the Go module proxy into ${dir} (first run only)`);
      execFileSync('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', join(scratch, NAME), '.'], {
        cwd: moduleDir,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, GOFLAGS: '-mod=mod' },
      });
      rmSync(dir, { recursive: true, force: true });
      renameSync(scratch, dir);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
  return binary;
}
