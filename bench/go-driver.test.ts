// The Go load driver of bench:workers, bench:latency and bench:rss (bench/go-noop-extproc/loaddriver,
// run by bench/driver.ts) sends the exchange the benches mean: every stream answered by the Go no-op
// server, and against `gatehouse extproc` serving the typical chain the same statuses as devproxy's
// client (bench/load-driver.ts), the app's key admitted and another refused, so the chain really ran.
// Counts only, never timings. Needs Go (the driver is built on demand, cached in ~/.cache/gatehouse/bench).
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { drive, type DriveTask } from './driver.ts';
import { ensureGoExtprocDriver, ensureGoNoopExtproc } from './extproc-go.ts';
import { benchSnapshotFile, chainRequest, startGatehouse, type GatehouseProcess } from './extproc-process.ts';
import { BENCH_API_KEY } from './load-driver.ts';

const hasGo = spawnSync('go', ['version']).status === 0;
const BUILD_MS = 900_000;

describe.skipIf(!hasGo)('the Go load driver', () => {
  beforeAll(() => {
    ensureGoNoopExtproc();
    ensureGoExtprocDriver();
  }, BUILD_MS);

  test('drives 100 streams over 4 connections to the Go no-op server, every one answered', async () => {
    const child = spawn(ensureGoNoopExtproc(), [], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`no-op server exited (${code})`)));
        createInterface({ input: child.stdout }).on('line', (line) => {
          const m = /^listening (\d+)$/.exec(line);
          if (m) resolve(Number(m[1]));
        });
      });
      const task: DriveTask = {
        address: `127.0.0.1:${port}`,
        route: 'bench/chain',
        concurrency: 10,
        connections: 4,
        durationMs: 0,
        warmupMs: 0,
        requests: 100,
        rawLatencies: true,
        request: chainRequest('bench/chain', BENCH_API_KEY),
      };
      const closed = await drive('go', task);
      expect(closed).toMatchObject({ completed: 100, failed: 0, statuses: { '200': 100 } });
      expect(closed.latenciesMs).toHaveLength(100);
      expect(closed.cpuMs).toBeGreaterThan(0);
      // Open loop: whatever count the clock allows, every start answered (the cap is far away).
      const open = await drive('go', { ...task, requests: undefined, durationMs: 300, ratePerSecond: 100 });
      expect(open.failed).toBe(0);
      expect(open.completed).toBeGreaterThan(0);
      expect(open.statuses).toEqual({ '200': open.completed });
    } finally {
      child.stdin.end();
      child.kill('SIGTERM');
    }
  });

  describe('against gatehouse extproc serving the typical chain', () => {
    let fixture: ReturnType<typeof benchSnapshotFile>;
    let g: GatehouseProcess;
    beforeAll(async () => {
      fixture = benchSnapshotFile();
      g = await startGatehouse(fixture.file, ['--workers', '1']);
    }, 180_000);
    afterAll(async () => {
      await g?.stop();
      fixture?.cleanup();
    });

    const task = (apiKey: string, route: 'bench/chain' | 'bench/empty' = 'bench/chain'): DriveTask => ({
      address: `127.0.0.1:${g.port}`,
      route,
      concurrency: 5,
      connections: 2,
      durationMs: 0,
      warmupMs: 0,
      requests: 40,
      request: chainRequest(route, apiKey),
    });

    test('the app key passes the chain, another key does not, and devproxy sees the same statuses', async () => {
      const good = await drive('go', task(BENCH_API_KEY));
      expect(good).toMatchObject({ completed: 40, failed: 0, statuses: { '200': 40 } });
      const bad = await drive('go', task('not-the-key'));
      expect(bad.failed).toBe(0);
      expect(bad.statuses['200']).toBeUndefined();
      expect(Object.values(bad.statuses).reduce((a, b) => a + b, 0)).toBe(40);

      expect((await drive('node', task(BENCH_API_KEY))).statuses).toEqual(good.statuses);
      expect((await drive('node', task('not-the-key'))).statuses).toEqual(bad.statuses);
      // The empty flow asks for no key.
      expect((await drive('go', task('not-the-key', 'bench/empty'))).statuses).toEqual({ '200': 40 });
    }, 180_000);

    test('a dead server is counted as failed exchanges, not a crash of the driver', async () => {
      const r = await drive('go', { ...task(BENCH_API_KEY), address: '127.0.0.1:1', requests: 3, concurrency: 1 });
      expect(r).toMatchObject({ completed: 0, failed: 3 });
      expect(Object.keys(r.failures ?? {})).toEqual(['grpc']);
    }, 60_000);
  });
});
