// `npm run bench:workers`: streams/s of `gatehouse extproc --workers 1` and `--workers 2` at saturation
// (issue 20: 2 workers on 2 cores at least 1.8x one), the typical chain (bench/extproc-server.ts) and
// the empty flow, each a real process with Redis stores. The driver (bench/load-driver.ts, devproxy's
// ext_proc client in a worker thread, several HTTP/2 connections since the kernel hands out connections
// to the workers, not streams) runs on the same machine: on 2 cores it takes CPU from the workers, so
// the ratio measured here is below what 2 dedicated cores give. Figures are reported, never asserted.
import { availableParallelism } from 'node:os';
import { BENCH_API_KEY, percentile, runWorker } from './load-driver.ts';
import { benchRedis, benchSnapshotFile, chainRequest, load, startGatehouse } from './extproc-process.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 3_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
const ROUTES = (process.env.BENCH_ROUTES ?? 'bench/chain,bench/empty').split(',') as Array<
  'bench/chain' | 'bench/empty'
>;

const redis = await benchRedis();
const fixture = benchSnapshotFile();
process.stdout.write(
  `workers bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} streams in flight over ` +
    `${CONNECTIONS} connections, driver in a worker thread of this process on the same ${availableParallelism()} cores; load ${load()}\n\n`,
);
process.stdout.write(
  `${'route'.padEnd(12)} ${'workers'.padStart(7)} ${'streams/s'.padStart(10)} ${'x 1'.padStart(6)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}  load after  statuses\n`,
);
try {
  for (const route of ROUTES) {
    let one = NaN;
    for (const workers of WORKERS) {
      const g = await startGatehouse(fixture.file, ['--workers', String(workers), '--redis', redis.url]);
      try {
        const r = await runWorker({
          address: `127.0.0.1:${g.port}`,
          route,
          concurrency: CONCURRENCY,
          connections: CONNECTIONS,
          durationMs: DURATION_MS,
          warmupMs: WARMUP_MS,
          request: chainRequest(route, BENCH_API_KEY),
        });
        const rate = (r.completed + r.failed) / (r.elapsedMs / 1000);
        if (workers === 1) one = rate;
        const sorted = r.latenciesMs.sort((a, b) => a - b);
        process.stdout.write(
          `${route.padEnd(12)} ${String(workers).padStart(7)} ${rate.toFixed(0).padStart(10)} ${(rate / one).toFixed(2).padStart(6)} ` +
            `${percentile(sorted, 50).toFixed(2).padStart(7)} ${percentile(sorted, 99).toFixed(2).padStart(7)}  ${load()}  ${JSON.stringify(r.statuses)}${r.failed ? ` failed=${r.failed}` : ''}\n`,
        );
      } finally {
        await g.stop();
      }
    }
  }
} finally {
  fixture.cleanup();
  await redis.stop();
}
