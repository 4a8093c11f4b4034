// `npm run bench:rss`: the resident memory of `gatehouse extproc` over a long run of the typical chain
// (bench/typical-chain.ts's fixture; issue 20: flat over 1,000,000 requests). RSS (VmRSS of the process
// and, with BENCH_WORKERS > 1, its workers) is sampled every BENCH_RSS_EVERY requests; the curve is
// printed as a table and written as CSV. BENCH_RSS_REQUESTS shortens the run. The driver is the Go one
// over raw HTTP/2 frames (bench/driver.ts; BENCH_DRIVER=go for its grpc-go transport, node for
// devproxy's client): one run over the same connection for all
// requests, the RSS read each time it reports EVERY more (streams in flight meanwhile); the Node driver
// runs once per sample instead. Figures, never asserted.
import { writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisServer } from '../e2e/env/redis.ts';
import { benchRedis, benchSnapshotFile, chainRequest, load, startGatehouse, treeRssBytes } from './extproc-process.ts';
import { drive, driverKind } from './driver.ts';
import { BENCH_API_KEY } from './load-driver.ts';

const REQUESTS = Number(process.env.BENCH_RSS_REQUESTS ?? 1_000_000);
const EVERY = Number(process.env.BENCH_RSS_EVERY ?? Math.max(1, Math.round(REQUESTS / 50)));
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 5_000);
const CSV = process.env.BENCH_RSS_CSV ?? join(tmpdir(), `gatehouse-rss-${Date.now()}.csv`);
const route = 'bench/chain';
const MiB = 1024 * 1024;
const DRIVER = driverKind();

const redis: RedisServer | undefined = WORKERS > 1 ? await benchRedis() : undefined;
const fixture = benchSnapshotFile();
const g = await startGatehouse(fixture.file, ['--workers', String(WORKERS), ...(redis ? ['--redis', redis.url] : [])]);
const request = chainRequest(route, BENCH_API_KEY);
const address = `127.0.0.1:${g.port}`;
process.stdout.write(
  `rss bench: ${REQUESTS} requests of the typical chain, ${CONCURRENCY} in flight, RSS sampled every ${EVERY} requests after ` +
    `${WARMUP_MS / 1000}s warm-up; gatehouse extproc --workers ${WORKERS}; ${DRIVER} driver on the same ${availableParallelism()} cores; load ${load()}\n\n`,
);
const rows: Array<{ requests: number; rssMiB: number; rate: number; failed: number }> = [];
const line = (r: (typeof rows)[number]) =>
  `${String(r.requests).padStart(9)} ${r.rssMiB.toFixed(1).padStart(9)} ${(r.rssMiB - rows[0]!.rssMiB).toFixed(1).padStart(8)} ${r.rate.toFixed(0).padStart(9)} ${String(r.failed).padStart(7)}  ${load()}\n`;
process.stdout.write(
  `${'requests'.padStart(9)} ${'RSS MiB'.padStart(9)} ${'delta'.padStart(8)} ${'streams/s'.padStart(9)} ${'failed'.padStart(7)}  load\n`,
);
try {
  await drive(DRIVER, {
    address,
    route,
    concurrency: CONCURRENCY,
    durationMs: 0,
    requests: 0,
    warmupMs: WARMUP_MS,
    request,
  });
  rows.push({ requests: 0, rssMiB: treeRssBytes(g.pid) / MiB, rate: 0, failed: 0 });
  process.stdout.write(line(rows[0]!));
  if (DRIVER !== 'node') {
    // One run, sampled in flight: no reconnection between samples, as a proxy's connections live long.
    let last = { at: performance.now(), ended: 0, failed: 0 };
    await drive(DRIVER, {
      address,
      route,
      concurrency: CONCURRENCY,
      durationMs: 0,
      requests: REQUESTS,
      warmupMs: 0,
      request,
      progressEvery: EVERY,
      onProgress: (ended, failed) => {
        const at = performance.now();
        const row = {
          requests: ended,
          rssMiB: treeRssBytes(g.pid) / MiB,
          rate: (ended - last.ended) / ((at - last.at) / 1000),
          failed: failed - last.failed,
        };
        last = { at, ended, failed };
        rows.push(row);
        process.stdout.write(line(row));
      },
    });
  } else {
    // The Node driver: one run per sample (a worker thread each, so new connections each time).
    for (let done = 0; done < REQUESTS;) {
      const n = Math.min(EVERY, REQUESTS - done);
      const r = await drive(DRIVER, {
        address,
        route,
        concurrency: CONCURRENCY,
        durationMs: 0,
        requests: n,
        warmupMs: 0,
        request,
      });
      done += n;
      const row = {
        requests: done,
        rssMiB: treeRssBytes(g.pid) / MiB,
        rate: n / (r.elapsedMs / 1000),
        failed: r.failed,
      };
      rows.push(row);
      process.stdout.write(line(row));
    }
  }
  writeFileSync(
    CSV,
    `requests,rss_mib,streams_per_s,failed\n${rows.map((r) => `${r.requests},${r.rssMiB.toFixed(2)},${r.rate.toFixed(0)},${r.failed}`).join('\n')}\n`,
  );
  const tail = rows.slice(Math.floor(rows.length / 2));
  const spread = Math.max(...tail.map((r) => r.rssMiB)) - Math.min(...tail.map((r) => r.rssMiB));
  process.stdout.write(
    `\nRSS after warm-up ${rows[0]!.rssMiB.toFixed(1)} MiB, at the end ${rows.at(-1)!.rssMiB.toFixed(1)} MiB; ` +
      `spread over the second half ${spread.toFixed(1)} MiB; CSV: ${CSV}\n`,
  );
} finally {
  await g.stop();
  fixture.cleanup();
  await redis?.stop();
}
