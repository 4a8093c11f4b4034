// `npm run bench:tracing`: what tracing costs extproc, as CPU per request of the typical chain
// (VerifyAPIKey + AccessControl + JSONThreatProtection + AssignMessage, as bench/extproc.ts), in one run:
//   (a) tracing off (no --otlp-endpoint: no SDK use, no span objects),
//   (b) tracing on, no request sampled by Envoy (traceparent flags 00 on every stream),
//   (c) tracing on, 1% of requests sampled,
//   (d) tracing on, 100% sampled (a stream span and four step spans per request, exported by OTLP gRPC),
//   (e) tracing off, analytics on (one record per request, JSON lines to a file sink in the background).
// CPU is the server thread's CPU time (process.threadCpuUsage: user + system, so time the machine gave
// to other processes is not counted) over the measured window divided by the requests completed; the
// load driver and the OTLP collector run in worker threads, so neither is counted. Figures are ratios
// to (a) in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { startTracing } from '../lib/tracing.ts';
import { AnalyticsRecorder, analyticsCounters, followSnapshots } from '../extproc/src/analytics/recorder.ts';
import { Registry } from 'prom-client';
import { BENCH_API_KEY as API_KEY, typicalChainSnapshot, TYPICAL_CHAIN_BODY } from './typical-chain.ts';
import { SnapshotStore } from '../extproc/src/config/snapshot-store.ts';
import { createExtprocServer } from '../extproc/src/server/server.ts';
import { buildSnapshot } from '../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { StreamTracer } from '../extproc/src/tracing/stream-tracer.ts';
import type { TracingWorkerResult, TracingWorkerTask } from './tracing-worker.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** The cases run interleaved this many times; each figure is the median of its rounds (the first warms the JIT for all). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function startWorker(task: TracingWorkerTask): Worker {
  return new Worker(new URL('./tracing-worker.ts', import.meta.url), { workerData: task });
}

/** The collector, in a worker thread: its address, and how many spans it got since last asked. */
async function startCollector(): Promise<{ address: string; spans: () => Promise<number>; stop: () => void }> {
  const worker = startWorker({ kind: 'collector' });
  const { address } = await new Promise<{ address: string }>((resolve) => worker.once('message', resolve));
  return {
    address,
    spans: () =>
      new Promise((resolve) => {
        worker.once('message', (m: { spans: number }) => resolve(m.spans));
        worker.postMessage('spans');
      }),
    stop: () => void worker.terminate(),
  };
}

interface Row {
  name: string;
  rate: number;
  cpuUsPerRequest: number;
  statuses: Record<string, number>;
  failed: number;
  spans: number;
}

const body = TYPICAL_CHAIN_BODY;

async function measure(name: string, port: number, sampledPercent: number | undefined): Promise<Omit<Row, 'spans'>> {
  const worker = startWorker({
    kind: 'drive',
    address: `127.0.0.1:${port}`,
    route: 'bench/chain',
    concurrency: CONCURRENCY,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    ...(sampledPercent !== undefined ? { sampledPercent } : {}),
    request: {
      method: 'POST',
      path: '/chain/orders',
      headers: [
        ['content-type', 'application/json'],
        ['x-api-key', API_KEY],
        ['content-length', String(body.length)],
      ],
      body,
    },
  });
  let start: NodeJS.CpuUsage | undefined;
  const result = await new Promise<TracingWorkerResult>((resolve, reject) => {
    worker.on('message', (m: { measuring?: true } & TracingWorkerResult) => {
      if (m.measuring) start = process.threadCpuUsage();
      else resolve(m);
    });
    worker.once('error', reject);
  });
  const cpu = process.threadCpuUsage(start);
  return {
    name,
    rate: result.completed / (DURATION_MS / 1000),
    cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, result.completed),
    statuses: result.statuses,
    failed: result.failed,
  };
}

const collector = await startCollector();
const tracing = await startTracing({
  endpoint: collector.address,
  serviceName: 'gatehouse-extproc',
  rootSamplingPercent: 0,
});
const store = new SnapshotStore();
store.apply(buildSnapshot(typicalChainSnapshot()));
// (e): the same chain on a DataPlane with analytics to a file sink.
const axDir = mkdtempSync(join(tmpdir(), 'gh-bench-ax-'));
const axStore = new SnapshotStore();
const recorder = new AnalyticsRecorder({ log: pino({ level: 'silent' }), counters: analyticsCounters(new Registry()) });
followSnapshots(axStore, recorder);
axStore.apply(
  buildSnapshot(
    typicalChainSnapshot({
      dataPlane: {
        namespace: 'bench',
        name: 'bench',
        analytics: {
          queueSize: 10_000,
          batchSize: 500,
          flushIntervalMs: 1000,
          file: { path: join(axDir, 'records.jsonl') },
        },
      },
    }),
  ),
);
await recorder.flush();
const stores = createMemoryStores();
const log = pino({ level: 'silent' });
const off = createExtprocServer({ snapshots: store, stores, log });
const on = createExtprocServer({ snapshots: store, stores, log, tracer: new StreamTracer(tracing) });
const offPort = await off.listen('127.0.0.1', 0);
const onPort = await on.listen('127.0.0.1', 0);
const ax = createExtprocServer({ snapshots: axStore, stores, log, analytics: recorder });
const axPort = await ax.listen('127.0.0.1', 0);

process.stdout.write(
  `tracing bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} streams in flight, ` +
    `driver and OTLP collector in worker threads, ${availableParallelism()} cores; the 4-policy chain of bench:extproc; ` +
    `median of ${ROUNDS} interleaved rounds\n\n`,
);
const cases: Array<[string, number, number | undefined]> = [
  ['(a) tracing off', offPort, undefined],
  ['(b) tracing on, 0% sampled', onPort, 0],
  ['(c) tracing on, 1% sampled', onPort, 1],
  ['(d) tracing on, 100% sampled', onPort, 100],
  ['(e) analytics on (file sink)', axPort, undefined],
];
const rounds: Row[][] = cases.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, [name, port, percent]] of cases.entries()) {
    // What an earlier case left queued is not this one's.
    await tracing.flush();
    await collector.spans();
    const row = await measure(name, port, percent);
    await tracing.flush();
    rounds[i]!.push({ ...row, spans: await collector.spans() });
  }
}
const median = (list: Row[]) => [...list].sort((a, b) => a.cpuUsPerRequest - b.cpuUsPerRequest)[list.length >> 1]!;
const rows = rounds.map(median);
const baseline = rows[0]!.cpuUsPerRequest;
process.stdout.write(
  `${'case'.padEnd(30)} ${'req/s'.padStart(8)} ${'CPU us/req'.padStart(11)} ${'vs (a)'.padStart(7)} ${'spans'.padStart(8)}  statuses\n`,
);
for (const row of rows)
  process.stdout.write(
    `${row.name.padEnd(30)} ${row.rate.toFixed(0).padStart(8)} ${row.cpuUsPerRequest.toFixed(1).padStart(11)} ${((row.cpuUsPerRequest / baseline) * 100).toFixed(0).padStart(6)}% ${String(row.spans).padStart(8)}  ${JSON.stringify(row.statuses)}${row.failed ? ` failed=${row.failed}` : ''}\n`,
  );
process.stdout.write(`\nanalytics: ${JSON.stringify(recorder.queued())} queued at the end\n`);
process.stdout.write(
  `\nspans: exported ${tracing.counters.exported}, dropped ${tracing.counters.dropped}, failed ${tracing.counters.failed}\n`,
);

await off.shutdown(1000);
await on.shutdown(1000);
await ax.shutdown(1000);
await recorder.close();
rmSync(axDir, { recursive: true, force: true });
await tracing.shutdown();
await stores.close();
collector.stop();
