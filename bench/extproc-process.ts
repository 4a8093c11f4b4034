// What bench/workers.ts, latency.ts and rss.ts share: `gatehouse extproc` as a real process (bin/gatehouse.js)
// serving the typical-chain fixture of bench/extproc-server.ts, a Redis for `--workers` > 1, the RSS of a
// process and its workers, and the machine's load.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../e2e/env/ports.ts';
import { ensureRedisServer, startRedis, type RedisServer } from '../e2e/env/redis.ts';
import { typicalChainSnapshot, TYPICAL_CHAIN_BODY } from './typical-chain.ts';

const root = new URL('..', import.meta.url).pathname;

export interface GatehouseProcess {
  pid: number;
  port: number;
  metricsPort: number;
  stop(): Promise<void>;
}

export const bodyJson = TYPICAL_CHAIN_BODY;

/** A folder holding the fixture as a `gatehouse compile`-shaped snapshot file; removed by `cleanup`. */
export function benchSnapshotFile(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const file = join(dir, 'snapshot.json');
  writeFileSync(file, JSON.stringify({ runtime: typicalChainSnapshot() }));
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function benchRedis(): Promise<RedisServer> {
  const logDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-redis-'));
  return startRedis(ensureRedisServer(), logDir);
}

/** `gatehouse extproc --snapshot FILE ...args`, once /readyz answers 200. */
export async function startGatehouse(file: string, args: string[]): Promise<GatehouseProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(root, 'bin/gatehouse.js'),
      'extproc',
      '--snapshot',
      file,
      '--port',
      String(port),
      '--metrics-port',
      String(metricsPort),
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' } },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(force);
  };
  for (const deadline = Date.now() + 120_000; ;) {
    if (child.exitCode !== null) throw new Error(`gatehouse extproc ${args.join(' ')} exited ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('gatehouse extproc did not become ready');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid!, port, metricsPort, stop };
}

/** VmRSS of a process and its children (a primary and its workers), bytes. */
export function treeRssBytes(pid: number): number {
  const rss = (p: number) => {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  };
  let children: number[] = [];
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    children = text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    /* gone */
  }
  return rss(pid) + children.reduce((n, c) => n + treeRssBytes(c), 0);
}

export const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** The chain's request as the driver sends it (x-api-key of the fixture's app, a small JSON body). */
export function chainRequest(route: 'bench/chain' | 'bench/empty', apiKey: string) {
  return {
    method: 'POST',
    path: `/${route.split('/')[1]}/orders`,
    headers: [
      ['content-type', 'application/json'],
      ['x-api-key', apiKey],
      ['content-length', String(bodyJson.length)],
    ] as Array<[string, string]>,
    body: bodyJson,
  };
}
