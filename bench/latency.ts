// `npm run bench:latency`: the latency Gatehouse adds (issue 20) at half of its measured maximum
// throughput. For the empty flow and the typical chain (bench/typical-chain.ts's fixture): first the
// maximum streams/s of `gatehouse extproc` (one process, closed loop), then an open-loop run at half of
// it against `gatehouse extproc` and against a bare grpc-js ExternalProcessor (empty replies,
// bench/extproc-server.ts bare) at the same rate; p50/p99 count from each request's scheduled start (no
// coordinated omission), and "added" is Gatehouse's minus the bare server's. The driver is the Go one
// over raw HTTP/2 frames (bench/driver.ts; BENCH_DRIVER=go for its grpc-go transport, node for
// devproxy's client); with taskset and 2 cores or more the
// server runs on core 0 and the driver on the others (BENCH_PIN=0: both anywhere), so the driver's
// work does not queue in front of the server's. Figures are reported, never asserted.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { drive, driverKind, hasTaskset, pin, processTree, type DriveResult } from './driver.ts';
import { benchSnapshotFile, chainRequest, load, startGatehouse } from './extproc-process.ts';
import { BENCH_API_KEY } from './load-driver.ts';

const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 8_000);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 15_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 3_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** The open loop's cap on streams in flight (more are counted as failed "overload"). */
const MAX_IN_FLIGHT = Number(process.env.BENCH_MAX_IN_FLIGHT ?? 512);
const ROUTES = (process.env.BENCH_ROUTES ?? 'bench/empty,bench/chain').split(',') as Array<
  'bench/chain' | 'bench/empty'
>;
const DRIVER = driverKind();
const CORES = availableParallelism();
const PIN = process.env.BENCH_PIN !== '0' && CORES >= 2 && hasTaskset();
const SERVER_CPUS = PIN ? '0' : undefined;
const DRIVER_CPUS = PIN ? (CORES === 2 ? '1' : `1-${CORES - 1}`) : undefined;
const pinTree = (pid: number) => {
  if (SERVER_CPUS) for (const p of processTree(pid)) pin(p, SERVER_CPUS);
};
const driverCpus = DRIVER_CPUS ? { cpus: DRIVER_CPUS } : {};

async function startBare(): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [new URL('./extproc-server.ts', import.meta.url).pathname, 'bare'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bare server exited (${code})`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

const summary = (r: DriveResult) => ({
  p50: r.p50,
  p99: r.p99,
  failed: r.failed,
  statuses: r.statuses,
  failures: r.failures,
  driverCores: r.cpuMs / r.elapsedMs,
});

const fixture = benchSnapshotFile();
process.stdout.write(
  `latency bench: max streams/s over ${MAX_MS / 1000}s (${CONCURRENCY} in flight), then ${DURATION_MS / 1000}s open loop at half of it ` +
    `after ${WARMUP_MS / 1000}s warm-up; one gatehouse extproc process; ${DRIVER} driver; ` +
    `${PIN ? `server on CPU ${SERVER_CPUS}, driver on CPUs ${DRIVER_CPUS}` : `server and driver share the ${CORES} cores`}; load ${load()}\n\n`,
);
process.stdout.write(
  `${'flow'.padEnd(12)} ${'max/s'.padStart(7)} ${'rate/s'.padStart(7)} ${'bare p50'.padStart(9)} ${'bare p99'.padStart(9)} ${'gh p50'.padStart(8)} ${'gh p99'.padStart(8)} ${'added p50'.padStart(10)} ${'added p99'.padStart(10)} ${'drv cores'.padStart(9)}  load after\n`,
);
try {
  for (const route of ROUTES) {
    const request = chainRequest(route, BENCH_API_KEY);
    const g = await startGatehouse(fixture.file, ['--workers', '1']);
    pinTree(g.pid);
    let max: number;
    let gh: ReturnType<typeof summary>;
    try {
      const address = `127.0.0.1:${g.port}`;
      const closed = await drive(DRIVER, {
        address,
        route,
        concurrency: CONCURRENCY,
        durationMs: MAX_MS,
        warmupMs: WARMUP_MS,
        request,
        ...driverCpus,
      });
      max = (closed.completed + closed.failed) / (closed.elapsedMs / 1000);
      gh = summary(
        await drive(DRIVER, {
          address,
          route,
          concurrency: MAX_IN_FLIGHT,
          durationMs: DURATION_MS,
          warmupMs: 0,
          ratePerSecond: max / 2,
          request,
          ...driverCpus,
        }),
      );
    } finally {
      await g.stop();
    }
    const bare = await startBare();
    pinTree(bare.pid);
    let b: ReturnType<typeof summary>;
    try {
      const address = `127.0.0.1:${bare.port}`;
      await drive(DRIVER, {
        address,
        route,
        concurrency: CONCURRENCY,
        durationMs: 0,
        requests: 0,
        warmupMs: WARMUP_MS,
        request,
        ...driverCpus,
      });
      b = summary(
        await drive(DRIVER, {
          address,
          route,
          concurrency: MAX_IN_FLIGHT,
          durationMs: DURATION_MS,
          warmupMs: 0,
          ratePerSecond: max / 2,
          request,
          ...driverCpus,
        }),
      );
    } finally {
      await bare.stop();
    }
    const f = (n: number) => n.toFixed(2);
    process.stdout.write(
      `${route.padEnd(12)} ${max.toFixed(0).padStart(7)} ${(max / 2).toFixed(0).padStart(7)} ${f(b.p50).padStart(9)} ${f(b.p99).padStart(9)} ` +
        `${f(gh.p50).padStart(8)} ${f(gh.p99).padStart(8)} ${f(gh.p50 - b.p50).padStart(10)} ${f(gh.p99 - b.p99).padStart(10)} ${f(gh.driverCores).padStart(9)}  ${load()}` +
        `${gh.failed || b.failed ? `  failed: gatehouse ${gh.failed} ${JSON.stringify(gh.failures)}, bare ${b.failed} ${JSON.stringify(b.failures)}` : ''}  ${JSON.stringify(gh.statuses)}\n`,
    );
  }
} finally {
  fixture.cleanup();
}
