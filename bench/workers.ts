// `npm run bench:workers`: does `gatehouse extproc --workers N` use N cores (issue 20: 2 workers on 2
// cores at least 1.8x one)? For the typical chain (bench/typical-chain.ts) and the empty flow, each
// `--workers` count a real process tree with Redis stores, driven at saturation (closed loop) by the
// Go load driver over raw HTTP/2 frames (bench/driver.ts; BENCH_DRIVER=go for its grpc-go transport,
// node for devproxy's client). Each row reports streams/s,
// the server's CPU per request (utime+stime from /proc, summed over the primary, its workers and Redis,
// around the measured phase only), the driver's CPU per request (its own getrusage) and how the
// workers shared the work. Layouts (taskset, util-linux):
//   dedicated  (when the machine has more cores than the largest --workers) the server on cores
//              0..N-1, the driver on the cores after the largest N: the issue's ratio, measured.
//   one-core   (2 cores) the server on core 0 whatever N, the driver on the others: what one core
//              serves with N workers on it, i.e. whether the server's CPU per request stays flat
//              from 1 to N workers and how evenly the connections spread.
//   shared     nothing pinned: the server and the driver share every core, the ratio a user of this
//              machine sees; it cannot pass 2*c1/(c2+d) (c server and d driver CPU per request).
//   spread     worker k on core (k-1) mod cores (one process: core 0), the primary, Redis and the
//              driver unpinned: whether placing the workers helps over the scheduler's choice.
// The `--workers` counts of a layout and route take turns: both process trees are started, then driven
// in BENCH_ROUNDS slices each, alternating, so that other processes' load falls on both alike.
// Each row also reports what the whole machine did in the measured phase (/proc/stat): the cores busy
// and the CPU of other processes (busy minus the server and the driver), so a ratio taken while
// something else ran says so; and the bench starts with a calibration: how much more hashing two
// CPU-bound processes do than one, right now (2.00x on two free cores).
// On 2 cores the issue's ratio cannot be measured (a third core would be needed for the driver): the
// bench prints what is measured and, labelled as derived, the ratio those measurements imply.
// Figures are reported, never asserted; bench/README.md explains them.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { RedisServer } from '../e2e/env/redis.ts';
import { cpuMicrosOf, drive, driverKind, hasTaskset, pin, processTree } from './driver.ts';
import {
  benchRedis,
  benchSnapshotFile,
  chainRequest,
  load,
  startGatehouse,
  type GatehouseProcess,
} from './extproc-process.ts';
import { BENCH_API_KEY } from './load-driver.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 3_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 4));
const SLICE_WARMUP_MS = 1_000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
const ROUTES = (process.env.BENCH_ROUTES ?? 'bench/chain,bench/empty').split(',') as Array<
  'bench/chain' | 'bench/empty'
>;
const DRIVER = driverKind();
const CORES = availableParallelism();
const MAX_WORKERS = Math.max(...WORKERS);
const TASKSET = hasTaskset();

type Layout = 'dedicated' | 'one-core' | 'shared' | 'spread';
const LAYOUTS: Layout[] = ['dedicated', 'one-core', 'shared', 'spread'];
/** BENCH_LAYOUTS, else what this machine can do: dedicated cores if it has them, else one-core; then shared. */
function layouts(): Layout[] {
  const given = process.env.BENCH_LAYOUTS?.split(',') as Layout[] | undefined;
  const pinning = TASKSET && CORES >= 2;
  const wanted: Layout[] = given ?? [
    ...(pinning ? [CORES > MAX_WORKERS ? ('dedicated' as const) : ('one-core' as const)] : []),
    'shared',
    ...(pinning ? ['spread' as const] : []),
  ];
  for (const l of wanted) {
    if (!LAYOUTS.includes(l)) throw new Error(`BENCH_LAYOUTS: unknown layout ${l}`);
    if (l !== 'shared' && !pinning) throw new Error(`layout ${l} needs taskset (util-linux) and 2 cores`);
    if (l === 'dedicated' && CORES <= MAX_WORKERS)
      throw new Error(`layout dedicated needs more than ${MAX_WORKERS} cores (this machine has ${CORES})`);
  }
  return wanted;
}

const range = (from: number, to: number) => (from === to ? String(from) : `${from}-${to}`);
/** Where the server (gatehouse and Redis) and the driver run, as taskset CPU lists. */
function placement(layout: Layout, workers: number): { server: string; driver: string } {
  if (layout === 'dedicated') return { server: range(0, workers - 1), driver: range(MAX_WORKERS, CORES - 1) };
  if (layout === 'one-core') return { server: '0', driver: range(1, CORES - 1) };
  // Every core (undoes an earlier layout's pinning of Redis, which all cases share); spread then pins
  // each worker.
  return { server: range(0, CORES - 1), driver: range(0, CORES - 1) };
}

/** The machine's CPU so far (/proc/stat's cpu line): busy (everything but idle and iowait) and steal, µs. */
function machineCpu(): { busy: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user already)
  const [user, nice, system, , , irq, softirq, steal] = f as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const tick = 1e6 / 100;
  return { busy: (user + nice + system + irq + softirq) * tick, steal: steal * tick };
}

/**
 * How much more two CPU-bound processes get done than one, now: each hashes for `ms` (SHA-256 of 1 KiB,
 * in a child process); 2.00x when two cores are free for them.
 */
function calibrate(ms = 1000): Promise<number> {
  const code = `const c=require('node:crypto');const b=Buffer.alloc(1024);let n=0;const end=Date.now()+${ms};while(Date.now()<end){for(let i=0;i<200;i++)c.createHash('sha256').update(b).digest();n+=200}console.log(n)`;
  const run = () =>
    new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (c) => (c === 0 ? resolve(Number(out)) : reject(new Error(`calibration exited ${c}`))));
    });
  return run().then(async (one) => {
    const two = await Promise.all([run(), run()]);
    return (two[0] + two[1]) / one;
  });
}

interface Row {
  layout: Layout;
  route: string;
  workers: number;
  rate: number;
  /** Server CPU per request, µs (gatehouse's processes and Redis). */
  serverUs: number;
  redisUs: number;
  driverUs: number;
  /** Cores busy on average during the measured phase. */
  serverCores: number;
  driverCores: number;
  /** The whole machine's busy cores, and what other processes (not the server, not the driver) took. */
  machineCores: number;
  otherCores: number;
  stealCores: number;
  /** Each worker's share of the workers' CPU (the primary excluded); [1] for one process. */
  shares: number[];
  /** The primary's CPU per request, µs (0 for one process). */
  primaryUs: number;
  /** The median of the rounds' p50 and the largest of their p99, ms. */
  p50: number;
  p99: number;
  completed: number;
  failed: number;
  statuses: Record<string, number>;
  failures: Record<string, { count: number; first: string }>;
}

/** One driver run's counters, summed over a case's rounds. */
interface Tally {
  completed: number;
  failed: number;
  elapsedMs: number;
  driverMs: number;
  /** CPU µs of each process ([...tree, redis]) in the measured phases. */
  used: number[];
  machineBusy: number;
  machineSteal: number;
  statuses: Record<string, number>;
  failures: Record<string, { count: number; first: string }>;
  p50s: number[];
  p99s: number[];
}

/**
 * Every `--workers` count of WORKERS for one layout and route, interleaved: each count's process tree
 * is started once, then driven for ROUNDS slices of DURATION_MS / ROUNDS, the counts taking turns
 * (1, 2, 2, 1, 1, 2, ...), so that what other processes do to the machine falls on each count alike
 * rather than on whichever ran while it happened. The first slice of each warms up for WARMUP_MS,
 * later ones for SLICE_WARMUP_MS (new connections, a warm server).
 */
async function measureCase(
  layout: Layout,
  route: 'bench/chain' | 'bench/empty',
  redis: RedisServer,
  file: string,
): Promise<Row[]> {
  const redisPid = redis.process.child.pid!;
  const trees: Array<{ workers: number; g: GatehouseProcess; tree: number[]; tally: Tally }> = [];
  try {
    for (const workers of WORKERS) {
      const g = await startGatehouse(file, ['--workers', String(workers), '--redis', redis.url]);
      const tree = processTree(g.pid);
      trees.push({
        workers,
        g,
        tree,
        tally: {
          completed: 0,
          failed: 0,
          elapsedMs: 0,
          driverMs: 0,
          used: [...tree, redisPid].map(() => 0),
          machineBusy: 0,
          machineSteal: 0,
          statuses: {},
          failures: {},
          p50s: [],
          p99s: [],
        },
      });
      if (workers > 1 && tree.length < workers + 1)
        throw new Error(`gatehouse extproc --workers ${workers} runs ${tree.length - 1} workers at ready`);
      const where = placement(layout, workers);
      if (TASKSET) for (const pid of [...tree, redisPid]) pin(pid, where.server);
      // spread: worker k (tree[k]; with one process, the process) on core (k-1) mod cores.
      if (layout === 'spread') (workers > 1 ? tree.slice(1) : tree).forEach((pid, k) => pin(pid, String(k % CORES)));
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of round % 2 === 0 ? trees : [...trees].reverse()) {
        const pids = [...t.tree, redisPid];
        let before: number[] = [];
        let machineBefore = machineCpu();
        const r = await drive(
          DRIVER,
          {
            address: `127.0.0.1:${t.g.port}`,
            route,
            concurrency: CONCURRENCY,
            connections: CONNECTIONS,
            durationMs: DURATION_MS / ROUNDS,
            warmupMs: round === 0 ? WARMUP_MS : Math.min(WARMUP_MS, SLICE_WARMUP_MS),
            request: chainRequest(route, BENCH_API_KEY),
            ...(TASKSET ? { cpus: placement(layout, t.workers).driver } : {}),
          },
          () => {
            before = cpuMicrosOf(pids);
            machineBefore = machineCpu();
          },
        );
        const after = cpuMicrosOf(pids);
        const machineAfter = machineCpu();
        const y = t.tally;
        after.forEach((a, i) => (y.used[i]! += a - before[i]!));
        y.completed += r.completed;
        y.failed += r.failed;
        y.elapsedMs += r.elapsedMs;
        y.driverMs += r.cpuMs;
        y.machineBusy += machineAfter.busy - machineBefore.busy;
        y.machineSteal += machineAfter.steal - machineBefore.steal;
        for (const [k, v] of Object.entries(r.statuses)) y.statuses[k] = (y.statuses[k] ?? 0) + v;
        for (const [k, v] of Object.entries(r.failures ?? {}))
          y.failures[k] = { count: (y.failures[k]?.count ?? 0) + v.count, first: y.failures[k]?.first ?? v.first };
        y.p50s.push(r.p50);
        y.p99s.push(r.p99);
      }
    }
  } finally {
    for (const t of trees) await t.g.stop();
  }
  return trees.map(({ workers, tally: y }) => {
    const requests = y.completed + y.failed;
    const serverMicros = y.used.reduce((a, b) => a + b, 0);
    // With --workers 1 the tree is the one process; else [primary, ...workers].
    const workerMicros = workers > 1 ? y.used.slice(1, -1) : [y.used[0]!];
    const workerTotal = workerMicros.reduce((a, b) => a + b, 0);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return {
      layout,
      route,
      workers,
      rate: requests / (y.elapsedMs / 1000),
      serverUs: serverMicros / requests,
      redisUs: y.used.at(-1)! / requests,
      driverUs: (y.driverMs * 1000) / requests,
      serverCores: serverMicros / 1000 / y.elapsedMs,
      driverCores: y.driverMs / y.elapsedMs,
      machineCores: y.machineBusy / 1000 / y.elapsedMs,
      otherCores: (y.machineBusy - serverMicros - y.driverMs * 1000) / 1000 / y.elapsedMs,
      stealCores: y.machineSteal / 1000 / y.elapsedMs,
      shares: workerMicros.map((m) => m / workerTotal),
      primaryUs: workers > 1 ? y.used[0]! / requests : 0,
      p50: median(y.p50s),
      p99: Math.max(...y.p99s),
      completed: y.completed,
      failed: y.failed,
      statuses: y.statuses,
      failures: y.failures,
    } satisfies Row;
  });
}

const plan = layouts();
const calibration = await calibrate();
const redis = await benchRedis();
const fixture = benchSnapshotFile();
process.stdout.write(
  `workers bench: ${DURATION_MS / 1000}s per case in ${ROUNDS} interleaved slices (warm-up ${WARMUP_MS / 1000}s, then ${Math.min(WARMUP_MS, SLICE_WARMUP_MS) / 1000}s), ${CONCURRENCY} streams over ${CONNECTIONS} ` +
    `connections, ${DRIVER} driver; ${CORES} cores; layouts ${plan.join(', ')}; load ${load()}\n` +
    `  calibration: 2 CPU-bound processes hash ${calibration.toFixed(2)}x what 1 does (2.00x on 2 free cores)\n`,
);
for (const layout of plan) {
  const p = placement(layout, MAX_WORKERS);
  process.stdout.write(
    layout === 'shared'
      ? `  shared: the server and the driver on CPUs ${p.server}\n`
      : layout === 'spread'
        ? `  spread: worker k on CPU (k-1) mod ${CORES}, the primary, Redis and the driver on CPUs ${p.driver}\n`
        : `  ${layout}: server (gatehouse + Redis) on CPUs ${layout === 'dedicated' ? '0..N-1' : p.server}, driver on CPUs ${p.driver}\n`,
  );
}
process.stdout.write(
  `\n${'layout'.padEnd(9)} ${'route'.padEnd(11)} ${'wk'.padStart(2)} ${'streams/s'.padStart(9)} ${'x 1'.padStart(5)} ` +
    `${'srv us/req'.padStart(10)} ${'redis'.padStart(5)} ${'drv us/req'.padStart(10)} ${'srv cores'.padStart(9)} ${'drv cores'.padStart(9)} ` +
    `${'others'.padStart(6)} ${'idle'.padStart(5)} ${'split'.padStart(9)} ${'primary'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}  load after  statuses\n`,
);
const rows: Row[] = [];
try {
  for (const layout of plan) {
    for (const route of ROUTES) {
      for (const row of await measureCase(layout, route, redis, fixture.file)) {
        rows.push(row);
        const workers = row.workers;
        const one = rows.find((o) => o.layout === layout && o.route === route && o.workers === 1)?.rate ?? NaN;
        const f = (n: number, d = 0, w = 0) => n.toFixed(d).padStart(w);
        process.stdout.write(
          `${layout.padEnd(9)} ${route.padEnd(11)} ${f(workers, 0, 2)} ${f(row.rate, 0, 9)} ${f(row.rate / one, 2, 5)} ` +
            `${f(row.serverUs, 1, 10)} ${f(row.redisUs, 1, 5)} ${f(row.driverUs, 1, 10)} ${f(row.serverCores, 2, 9)} ${f(row.driverCores, 2, 9)} ` +
            `${f(row.otherCores, 2, 6)} ${f(CORES - row.machineCores, 2, 5)} ` +
            `${row.shares
              .map((s) => (s * 100).toFixed(0))
              .join('/')
              .padStart(9)} ${f(row.primaryUs, 1, 7)} ${f(row.p50, 2, 7)} ${f(row.p99, 2, 7)}  ${load()}  ` +
            `${JSON.stringify(row.statuses)}${row.failed ? ` failed=${row.failed} ${JSON.stringify(row.failures)}` : ''}\n`,
        );
      }
    }
  }
} finally {
  fixture.cleanup();
  await redis.stop();
}

// What the rows say about the issue's ratio, per route and N > 1.
process.stdout.write('\n');
for (const route of ROUTES) {
  const get = (layout: Layout, w: number) =>
    rows.find((o) => o.layout === layout && o.route === route && o.workers === w);
  for (const w of WORKERS.filter((n) => n > 1)) {
    const lines: string[] = [];
    const ded1 = get('dedicated', 1);
    const dedN = get('dedicated', w);
    if (ded1 && dedN)
      lines.push(
        `measured with dedicated cores (driver on its own): ${w} workers on ${w} cores = ${(dedN.rate / ded1.rate).toFixed(2)}x 1 worker on 1 core`,
      );
    const one1 = get('one-core', 1);
    const oneN = get('one-core', w);
    if (one1 && oneN) {
      const busiest = Math.max(...oneN.shares);
      lines.push(
        `measured on one server core: server CPU per request ${one1.serverUs.toFixed(1)} us (1 worker) -> ${oneN.serverUs.toFixed(1)} us ` +
          `(${w} workers), requests per server CPU-second x${(one1.serverUs / oneN.serverUs).toFixed(2)}; busiest worker ${(busiest * 100).toFixed(0)}% of the workers' CPU`,
        `derived, not measured: ${w} workers on ${w} cores of their own = ${(one1.serverUs / (oneN.serverUs * busiest)).toFixed(2)}x 1 worker on 1 core ` +
          `(= c1 / (cN x busiest share); assumes each worker can use a core as the single process does and nothing shared saturates first)`,
      );
    }
    for (const layout of ['shared', 'spread'] as const) {
      const sh1 = get(layout, 1);
      const shN = get(layout, w);
      if (sh1 && shN)
        lines.push(
          `measured with the driver sharing all ${CORES} cores (${layout}): ${w} workers = ${(shN.rate / sh1.rate).toFixed(2)}x 1 worker; ` +
            `the driver took ${shN.driverCores.toFixed(2)} cores (${shN.driverUs.toFixed(1)} us/request), the server ${shN.serverCores.toFixed(2)}, ` +
            `other processes ${sh1.otherCores.toFixed(2)} (1 worker) and ${shN.otherCores.toFixed(2)} (${w})`,
          `derived, not measured: with 1 worker on a full core, ${CORES} shared cores can give at most ` +
            `${((CORES * sh1.serverUs) / (shN.serverUs + shN.driverUs)).toFixed(2)}x with this driver (${CORES} x c1 / (c${w} + driver per request))`,
          `derived, not measured: from this layout's CPU per request, ${w} workers on ${w} cores of their own = ` +
            `${(sh1.serverUs / (shN.serverUs * Math.max(...shN.shares))).toFixed(2)}x 1 worker on 1 core (c1 / (c${w} x busiest share ${(Math.max(...shN.shares) * 100).toFixed(0)}%))`,
        );
    }
    // A case whose single process did not get its core, or that shared the machine with other busy
    // processes, was competing with something else.
    const starved = rows.filter((o) => o.route === route && o.workers === 1 && o.serverCores < 0.9);
    for (const o of starved)
      lines.push(
        `caution: in ${o.layout}, 1 worker used ${o.serverCores.toFixed(2)} of a core at saturation: other processes took CPU (or the driver could not keep it busy): that layout's ratios are not reliable`,
      );
    const crowded = rows.filter((o) => o.route === route && o.otherCores > 0.1);
    for (const o of crowded)
      lines.push(
        `caution: in ${o.layout} with ${o.workers} worker(s), other processes took ${o.otherCores.toFixed(2)} cores of the machine during the measured phase`,
      );
    process.stdout.write(`${route}:\n${lines.map((l) => `  ${l}\n`).join('')}`);
  }
}
