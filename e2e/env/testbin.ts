// Finds or builds the Go programs the tests run: the control plane (etcd, kube-apiserver), helm, an
// Argo CD health-check runner and a kstatus runner. Each comes from a wrapper module under testbin/,
// built once from the Go module proxy into a cache under ~/.cache/gatehouse/testbin keyed by the
// version and by a hash of the wrapper module (go.mod, go.sum, its .go files), and is built only when
// something first asks for it. An environment variable names an existing binary instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { TestEnvStartError, TestEnvToolMissingError } from './errors.ts';

export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.7.3';
export const HELM_VERSION = 'v4.3.1';
export const GOPHER_LUA_VERSION = 'v1.1.2';
export const CLI_UTILS_VERSION = 'v0.37.2';

const here = new URL('.', import.meta.url).pathname;

/** One program of a wrapper module: `go build -o NAME PACKAGE` in testbin/MODULE. */
interface GoProgram {
  name: string;
  module: string;
  ldflags: string;
}

/** Programs cached (and built) together in one folder. */
interface GoToolset {
  /** The cache folder's name before the hash: the versions it holds. */
  label: string;
  /** What to say while building (first run only). */
  describe: string;
  programs: GoProgram[];
  /** How to avoid the build, for the message when Go is missing. */
  alternative: string;
}

/**
 * The version stamps `make` would set. Without them the binary reports v0.0.0-master, and the
 * apiserver's compatibility-version checks (emulation version) reject its own default version.
 */
function kubernetesLdflags(): string {
  const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
    .flatMap((pkg) => [
      `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    ])
    .join(' ');
}

const controlPlane: GoToolset = {
  label: `k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}`,
  describe: `etcd ${ETCD_VERSION} and kube-apiserver ${KUBERNETES_VERSION}`,
  programs: [
    { name: 'etcd', module: 'etcd', ldflags: '-s -w' },
    { name: 'kube-apiserver', module: 'kube-apiserver', ldflags: `-s -w ${kubernetesLdflags()}` },
  ],
  alternative:
    'set KUBEBUILDER_ASSETS (or GATEHOUSE_TEST_BIN) to a folder holding etcd and kube-apiserver binaries ' +
    `(Kubernetes ${KUBERNETES_VERSION}, etcd ${ETCD_VERSION})`,
};

const helm: GoToolset = {
  label: `helm-${HELM_VERSION}`,
  describe: `helm ${HELM_VERSION}`,
  programs: [
    {
      name: 'helm',
      module: 'helm',
      ldflags: `-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v4/internal/version.gitTreeState=clean`,
    },
  ],
  alternative: `set GATEHOUSE_HELM to a helm binary (${HELM_VERSION} or another 3.x/4.x)`,
};

const argoCdLua: GoToolset = {
  label: `argocd-lua-gopher-lua-${GOPHER_LUA_VERSION}`,
  describe: `the Argo CD health-check runner (gopher-lua ${GOPHER_LUA_VERSION})`,
  programs: [{ name: 'argocd-lua', module: 'argocd-lua', ldflags: '-s -w' }],
  alternative: 'set GATEHOUSE_ARGOCD_LUA to a built e2e/env/testbin/argocd-lua binary',
};

const kstatus: GoToolset = {
  label: `kstatus-cli-utils-${CLI_UTILS_VERSION}`,
  describe: `the kstatus runner (sigs.k8s.io/cli-utils ${CLI_UTILS_VERSION})`,
  programs: [{ name: 'kstatus', module: 'kstatus', ldflags: '-s -w' }],
  alternative: 'set GATEHOUSE_KSTATUS to a built e2e/env/testbin/kstatus binary',
};

export interface TestBinaries {
  etcd: string;
  kubeApiserver: string;
  /** Where they came from, for the log: an env var or the cache. */
  origin: string;
}

/** The control plane's binaries, building them first when the cache is empty. `log` reports progress. */
export function ensureTestBinaries(log: (line: string) => void = () => {}): TestBinaries {
  const assets = process.env.KUBEBUILDER_ASSETS ?? process.env.GATEHOUSE_TEST_BIN;
  if (assets) {
    const origin = process.env.KUBEBUILDER_ASSETS ? 'KUBEBUILDER_ASSETS' : 'GATEHOUSE_TEST_BIN';
    const bins = { etcd: join(assets, 'etcd'), kubeApiserver: join(assets, 'kube-apiserver'), origin };
    for (const bin of [bins.etcd, bins.kubeApiserver]) {
      if (!existsSync(bin)) throw new TestEnvStartError(`${origin} names ${assets}, but ${bin} does not exist`);
    }
    return bins;
  }
  const { dir, origin } = ensureToolset(controlPlane, log);
  return { etcd: join(dir, 'etcd'), kubeApiserver: join(dir, 'kube-apiserver'), origin };
}

/** The helm binary: $GATEHOUSE_HELM, else built from the Go module proxy on first use. */
export function ensureHelm(log: (line: string) => void = () => {}): string {
  return fromEnvOr('GATEHOUSE_HELM', helm, 'helm', log);
}

/** The Argo CD health-check runner (testbin/argocd-lua): $GATEHOUSE_ARGOCD_LUA, else built on first use. */
export function ensureArgoCdLua(log: (line: string) => void = () => {}): string {
  return fromEnvOr('GATEHOUSE_ARGOCD_LUA', argoCdLua, 'argocd-lua', log);
}

/** The kstatus runner (testbin/kstatus): $GATEHOUSE_KSTATUS, else built on first use. */
export function ensureKstatus(log: (line: string) => void = () => {}): string {
  return fromEnvOr('GATEHOUSE_KSTATUS', kstatus, 'kstatus', log);
}

function fromEnvOr(variable: string, set: GoToolset, program: string, log: (line: string) => void): string {
  const given = process.env[variable];
  if (given) {
    if (!existsSync(given)) throw new TestEnvStartError(`${variable} names ${given}, which does not exist`);
    return given;
  }
  return join(ensureToolset(set, log).dir, program);
}

/** Where the test environment caches what it builds: GATEHOUSE_CACHE_DIR, else ~/.cache/gatehouse. */
export function gatehouseCacheBase(): string {
  return process.env.GATEHOUSE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gatehouse');
}

function cacheRoot(): string {
  return join(gatehouseCacheBase(), 'testbin');
}

/** The cache folder of a toolset: its label and a hash of its wrapper modules. */
function toolsetDir(set: GoToolset): string {
  const digest = createHash('sha256');
  for (const module of new Set(set.programs.map((p) => p.module))) {
    const dir = join(here, 'testbin', module);
    const files = readdirSync(dir)
      .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
      .sort();
    for (const file of files) digest.update(`${module}/${file}\0`).update(readFileSync(join(dir, file)));
  }
  return join(cacheRoot(), `${set.label}-${digest.digest('hex').slice(0, 12)}`);
}

/** The control plane's cache folder (for tools that want to name it). */
export function cacheDir(): string {
  return toolsetDir(controlPlane);
}

function complete(set: GoToolset, dir: string): boolean {
  return set.programs.every((p) => existsSync(join(dir, p.name)));
}

function ensureToolset(set: GoToolset, log: (line: string) => void): { dir: string; origin: string } {
  const dir = toolsetDir(set);
  if (complete(set, dir)) return { dir, origin: 'cache' };
  withBuildLock(dir, log, () => {
    // Another process may have built it while we waited for the lock.
    if (!complete(set, dir)) buildInto(set, dir, log);
  });
  return { dir, origin: 'built' };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * One build of a folder at a time across processes (several test runs may share the cache): the lock
 * is a folder holding the builder's pid; a lock whose builder is gone is taken over.
 */
export function withBuildLock(dir: string, log: (line: string) => void, build: () => void): void {
  const lock = `${dir}.lock`;
  mkdirSync(dirname(dir), { recursive: true });
  let waited = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileIfAny(join(lock, 'pid')));
      // A builder that died between taking the lock and writing its pid leaves an empty lock behind.
      const orphan = !owner && Date.now() - mtimeMs(lock) > 30_000;
      if ((owner && !pidAlive(owner)) || orphan) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!waited) log(`waiting for process ${owner || '?'} that is building ${dir}`);
      waited = true;
      sleepSync(1_000);
    }
  }
  try {
    build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function readFileIfAny(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function buildInto(set: GoToolset, dir: string, log: (line: string) => void): void {
  if (spawnSync('go', ['version']).status !== 0) {
    throw new TestEnvToolMissingError(
      `Go is not installed, and ${set.describe} is built from the Go module proxy. Install Go >= 1.26, or ${set.alternative}.`,
    );
  }
  // Build into a scratch folder and rename, so an interrupted build never leaves a half cache; the
  // scratch folders of builds whose process is gone are swept first.
  const parent = dirname(dir);
  for (const name of readdirSync(parent)) {
    const match = /\.partial-(\d+)$/.exec(name);
    if (match && !pidAlive(Number(match[1]))) rmSync(join(parent, name), { recursive: true, force: true });
  }
  const scratch = `${dir}.partial-${process.pid}`;
  mkdirSync(scratch, { recursive: true });
  const started = Date.now();
  try {
    log(`building ${set.describe} from the Go module proxy into ${dir} (first run only: this can take minutes)`);
    for (const program of set.programs)
      goBuild(join(here, 'testbin', program.module), join(scratch, program.name), program.ldflags);
    rmSync(dir, { recursive: true, force: true });
    renameSync(scratch, dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  log(`${set.describe} built in ${Math.round((Date.now() - started) / 1000)} s`);
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
