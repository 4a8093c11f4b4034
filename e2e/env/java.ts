// The Java callout host (java/, docs/policies.md#javacallout) for the tests: built with Maven from
// Maven Central against Debian's JDK, once per content of java/ and the ExternalCallout proto, into
// ~/.cache/gatehouse/java-<hash> (one builder at a time, like testbin.ts); and helpers to compile a
// callout with Maven and to run the host as a child service.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ensureDebianPackage } from './debian.ts';
import { TestEnvStartError, TestEnvToolMissingError } from './errors.ts';
import { eventually } from './eventually.ts';
import { ServiceProcess } from './processes.ts';
import { gatehouseCacheBase, withBuildLock } from './testbin.ts';

const repo = join(import.meta.dirname, '..', '..');
const javaSources = join(repo, 'java');
const protoDir = join(repo, 'protos', 'apigee');

export interface JavaHost {
  /** java -jar this to run the host. */
  hostJar: string;
  /** The interface jar callouts compile against. */
  apiJar: string;
  /** `cache` or `built`, with the build's duration for the log. */
  origin: string;
}

/** Every file of the build's inputs, sorted: java/ (but target/) and protos/apigee/. */
function inputs(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name === 'target') continue;
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(javaSources);
  walk(protoDir);
  return out;
}

/** Installs Debian's JDK 17 and Maven when missing (the machines run as root). */
function ensureToolchain(): void {
  if (!ensureDebianPackage('openjdk-17-jdk-headless', 'javac'))
    throw new TestEnvToolMissingError('javac is missing and openjdk-17-jdk-headless could not be installed');
  if (!ensureDebianPackage('maven', 'mvn'))
    throw new TestEnvToolMissingError('mvn is missing and Debian package maven could not be installed');
}

/**
 * Runs Maven in `cwd`: offline first (quiet and fast when ~/.m2 already holds every artifact), online
 * when that fails because something is missing.
 */
export function mvn(cwd: string, args: string[], log: (line: string) => void = () => {}): void {
  ensureToolchain();
  const offline = spawnSync('mvn', ['-q', '-o', '-B', ...args], { cwd, encoding: 'utf8' });
  if (offline.status === 0) return;
  log(`mvn offline failed in ${cwd}; retrying online (Maven Central)`);
  const online = spawnSync('mvn', ['-q', '-B', ...args], { cwd, encoding: 'utf8' });
  if (online.status !== 0)
    throw new TestEnvStartError(
      `mvn ${args.join(' ')} failed in ${cwd} (exit ${online.status}):\n${(online.stdout + online.stderr).slice(-4_000)}`,
    );
}

/** The built host, building it first when the cache has none for these sources. */
export function ensureJavaHost(log: (line: string) => void = () => {}): JavaHost {
  const digest = createHash('sha256');
  for (const file of inputs()) digest.update(relative(repo, file)).update('\0').update(readFileSync(file));
  const dir = join(gatehouseCacheBase(), `java-${digest.digest('hex').slice(0, 12)}`);
  const result = (origin: string): JavaHost => ({
    hostJar: join(dir, 'host', 'gatehouse-callout-host.jar'),
    apiJar: join(dir, 'gatehouse-callout-api.jar'),
    origin,
  });
  const done = join(dir, '.complete');
  if (existsSync(done)) return result('cache');
  let origin = 'cache';
  withBuildLock(dir, log, () => {
    if (existsSync(done)) return;
    const started = Date.now();
    rmSync(dir, { recursive: true, force: true });
    // Build in a scratch copy laid out like the repository (java/ beside protos/apigee/), so that a
    // build never writes into the checkout and two checkouts never share a target/.
    const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-java-'));
    try {
      cpSync(javaSources, join(scratch, 'java'), { recursive: true, filter: (src) => !src.includes('/target') });
      cpSync(protoDir, join(scratch, 'protos', 'apigee'), { recursive: true });
      log(`building the Java callout host (java/) with Maven into ${dir}`);
      mvn(join(scratch, 'java'), ['package', '-DskipTests'], log);
      const host = join(scratch, 'java', 'gatehouse-callout-host', 'target');
      mkdirSync(join(dir, 'host'), { recursive: true });
      cpSync(join(host, 'gatehouse-callout-host.jar'), join(dir, 'host', 'gatehouse-callout-host.jar'));
      cpSync(join(host, 'lib'), join(dir, 'host', 'lib'), { recursive: true });
      cpSync(
        join(scratch, 'java', 'gatehouse-callout-api', 'target', 'gatehouse-callout-api-0.1.0.jar'),
        join(dir, 'gatehouse-callout-api.jar'),
      );
      // Written last: a build cut short is never taken for a complete one.
      cpSync(join(scratch, 'java', 'pom.xml'), done);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    origin = `built in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    log(`Java callout host ${origin}`);
  });
  return result(origin);
}

/**
 * Compiles a callout project (a folder with a pom.xml whose `gatehouse.callout.api.jar` property
 * names the interface jar, as a system-scoped dependency) and returns its built jar.
 */
export function compileCallout(projectDir: string, apiJar: string, log: (line: string) => void = () => {}): string {
  mvn(projectDir, ['package', `-Dgatehouse.callout.api.jar=${apiJar}`], log);
  const target = join(projectDir, 'target');
  const jar = readdirSync(target).find((f) => f.endsWith('.jar'));
  if (!jar) throw new TestEnvStartError(`mvn package in ${projectDir} made no jar`);
  return join(target, jar);
}

export interface RunningJavaHost {
  readonly process: ServiceProcess;
  /** host:port it listens on. */
  readonly address: string;
}

/** Starts the host on a free loopback port; resolves once it prints that it serves. */
export async function startJavaHost(
  host: JavaHost,
  options: {
    jars: string;
    logDir: string;
    name?: string;
    port?: number;
    maxConcurrent?: number;
    maxTimeoutMs?: number;
  },
): Promise<RunningJavaHost> {
  const args = ['-jar', host.hostJar, '--listen', `127.0.0.1:${options.port ?? 0}`, '--jars', options.jars];
  if (options.maxConcurrent !== undefined) args.push('--max-concurrent', String(options.maxConcurrent));
  if (options.maxTimeoutMs !== undefined) args.push('--max-timeout-ms', String(options.maxTimeoutMs));
  const proc = new ServiceProcess(options.name ?? 'java-callout-host', 'java', args, options.logDir);
  const address = await eventually(
    'the Java callout host to listen',
    () => {
      if (!proc.running) throw new TestEnvStartError(`the Java callout host exited; see ${proc.logFile}`);
      const match = /gatehouse-callout-host listening on (\S+)/.exec(readFileSync(proc.logFile, 'utf8'));
      return match?.[1];
    },
    60_000,
  );
  return { process: proc, address };
}
