// Finds or builds the test control plane's binaries (etcd, kube-apiserver). Precedence:
// $KUBEBUILDER_ASSETS (the envtest convention) or $GATEHOUSE_TEST_BIN naming a folder with both; else
// a cache under ~/.cache/gatehouse/testbin keyed by the versions and by the wrapper modules' go.sum,
// built once from the Go module proxy (a few minutes the first time on two cores).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { TestEnvStartError, TestEnvToolMissingError } from './errors.ts';

export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.7.3';

const here = new URL('.', import.meta.url).pathname;
const modules = { etcd: join(here, 'testbin/etcd'), kubeApiserver: join(here, 'testbin/kube-apiserver') };

export interface TestBinaries {
  etcd: string;
  kubeApiserver: string;
  /** Where they came from, for the log: an env var or the cache. */
  origin: string;
}

function fromFolder(dir: string, origin: string): TestBinaries {
  const bins = { etcd: join(dir, 'etcd'), kubeApiserver: join(dir, 'kube-apiserver'), origin };
  for (const bin of [bins.etcd, bins.kubeApiserver]) {
    if (!existsSync(bin)) throw new TestEnvStartError(`${origin} names ${dir}, but ${bin} does not exist`);
  }
  return bins;
}

export function cacheDir(): string {
  const digest = createHash('sha256');
  for (const dir of Object.values(modules)) {
    digest.update(readFileSync(join(dir, 'go.mod'))).update(readFileSync(join(dir, 'go.sum')));
  }
  const base = process.env.GATEHOUSE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gatehouse');
  return join(base, 'testbin', `k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}-${digest.digest('hex').slice(0, 12)}`);
}

/** The binaries, building them first when the cache is empty. `log` reports progress. */
export function ensureTestBinaries(log: (line: string) => void = () => {}): TestBinaries {
  const assets = process.env.KUBEBUILDER_ASSETS ?? process.env.GATEHOUSE_TEST_BIN;
  if (assets) return fromFolder(assets, process.env.KUBEBUILDER_ASSETS ? 'KUBEBUILDER_ASSETS' : 'GATEHOUSE_TEST_BIN');
  const dir = cacheDir();
  if (existsSync(join(dir, 'etcd')) && existsSync(join(dir, 'kube-apiserver'))) return fromFolder(dir, 'cache');
  buildInto(dir, log);
  return fromFolder(dir, 'built');
}

function buildInto(dir: string, log: (line: string) => void): void {
  if (spawnSync('go', ['version']).status !== 0) {
    throw new TestEnvToolMissingError(
      'Go is not installed, and the test control plane (etcd, kube-apiserver) is built from the Go module ' +
      'proxy. Install Go >= 1.26, or set KUBEBUILDER_ASSETS (or GATEHOUSE_TEST_BIN) to a folder holding ' +
      `etcd and kube-apiserver binaries (Kubernetes ${KUBERNETES_VERSION}, etcd ${ETCD_VERSION}).`,
    );
  }
  // Build into a scratch folder and rename, so an interrupted build never leaves a half cache; the
  // scratch folders of builds that were killed are swept first.
  const parent = dirname(dir);
  if (existsSync(parent)) {
    for (const name of readdirSync(parent)) if (name.includes('.partial-')) rmSync(join(parent, name), { recursive: true, force: true });
  }
  const scratch = `${dir}.partial-${process.pid}`;
  mkdirSync(scratch, { recursive: true });
  const started = Date.now();
  try {
    log(`building etcd ${ETCD_VERSION} from the Go module proxy into ${dir}`);
    goBuild(modules.etcd, join(scratch, 'etcd'), '-s -w');
    log(`building kube-apiserver ${KUBERNETES_VERSION} from the Go module proxy (first run only: minutes)`);
    goBuild(modules.kubeApiserver, join(scratch, 'kube-apiserver'), `-s -w ${versionLdflags()}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(scratch, dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  log(`test control plane built in ${Math.round((Date.now() - started) / 1000)} s`);
}

/**
 * The version stamps `make` would set. Without them the binary reports v0.0.0-master, and the
 * apiserver's compatibility-version checks (emulation version) reject its own default version.
 */
function versionLdflags(): string {
  const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`, `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
  ]).join(' ');
}

function goBuild(moduleDir: string, output: string, ldflags: string): void {
  try {
    execFileSync('go', ['build', '-trimpath', '-ldflags', ldflags, '-o', output, '.'], {
      cwd: moduleDir,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOFLAGS: '-mod=mod' },
    });
  } catch (err) {
    throw new TestEnvStartError(`go build in ${moduleDir} failed (see the output above)`, err);
  }
}
