// The Go programs of the benches, one Go module (bench/go-noop-extproc): the no-op ext_proc server of
// `npm run bench:extproc` (the module's root package) and the load driver of bench:workers, bench:latency
// and bench:rss (its loaddriver package, bench/go-driver.ts). Each is built on demand with `go build`
// from the Go module proxy into ~/.cache/gatehouse/bench, keyed by a hash of its sources and go.mod/go.sum,
// one build at a time across processes (the test environment's cache and lock, e2e/env/testbin.ts).
// GATEHOUSE_GO_NOOP_EXTPROC / GATEHOUSE_GO_EXTPROC_DRIVER name an existing binary instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gatehouseCacheBase, withBuildLock } from '../e2e/env/testbin.ts';

const moduleDir = new URL('./go-noop-extproc/', import.meta.url).pathname;

/** The no-op server's path, building it first when the cache does not hold this version of the sources. */
export function ensureGoNoopExtproc(log: (line: string) => void = () => {}): string {
  return ensureGoBinary({ name: 'go-noop-extproc', pkg: '.', envVar: 'GATEHOUSE_GO_NOOP_EXTPROC' }, log);
}

/** The load driver's path (bench/go-noop-extproc/loaddriver), built the same way. */
export function ensureGoExtprocDriver(log: (line: string) => void = () => {}): string {
  return ensureGoBinary({ name: 'go-extproc-driver', pkg: 'loaddriver', envVar: 'GATEHOUSE_GO_EXTPROC_DRIVER' }, log);
}

const isSource = (f: string) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go');

function ensureGoBinary(o: { name: string; pkg: string; envVar: string }, log: (line: string) => void): string {
  const given = process.env[o.envVar];
  if (given) {
    if (!existsSync(given)) throw new Error(`${o.envVar} names ${given}, which does not exist`);
    return given;
  }
  // The key: go.mod, go.sum and the package's own .go files (the root package's hash is what it was
  // before the driver existed, so its cached build stays valid).
  const digest = createHash('sha256');
  const files = readdirSync(moduleDir).filter(isSource);
  if (o.pkg !== '.')
    files.push(
      ...readdirSync(join(moduleDir, o.pkg))
        .filter((f) => f.endsWith('.go'))
        .map((f) => `${o.pkg}/${f}`),
    );
  for (const file of files.sort()) digest.update(`${file}\0`).update(readFileSync(join(moduleDir, file)));
  const dir = join(gatehouseCacheBase(), 'bench', `${o.name}-${digest.digest('hex').slice(0, 12)}`);
  const binary = join(dir, o.name);
  if (existsSync(binary)) return binary;
  withBuildLock(dir, log, () => {
    if (existsSync(binary)) return;
    if (spawnSync('go', ['version']).status !== 0)
      throw new Error(
        `Go is not installed, and the bench's ${o.name} (${join(moduleDir, o.pkg)}) is built with it: install Go >= 1.26 or set ${o.envVar}`,
      );
    // Build into a scratch folder and rename, so an interrupted build never leaves a half cache.
    const scratch = `${dir}.partial-${process.pid}`;
    mkdirSync(scratch, { recursive: true });
    try {
      log(`building ${o.name} from the Go module proxy into ${dir} (first run only)`);
      execFileSync(
        'go',
        ['build', '-trimpath', '-ldflags', '-s -w', '-o', join(scratch, o.name), o.pkg === '.' ? '.' : `./${o.pkg}`],
        {
          cwd: moduleDir,
          stdio: ['ignore', 'inherit', 'inherit'],
          env: { ...process.env, GOFLAGS: '-mod=mod' },
        },
      );
      rmSync(dir, { recursive: true, force: true });
      renameSync(scratch, dir);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
  return binary;
}
