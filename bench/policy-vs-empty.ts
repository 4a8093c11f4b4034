// The skeleton of the single-process policy benches (`bench:javascript`, `bench:python`, `bench:soap`):
// one in-process extproc server, the load driver over ext_proc gRPC as Envoy would send it, and a
// table of CPU per request against the empty flow's row of the same run. CPU is the whole process's
// (process.cpuUsage: the driver thread, the event loop and the worker pools) divided by streams; a
// policy's cost is the difference to the empty flow's row.
import { pino } from 'pino';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { SnapshotStore } from '../extproc/src/config/snapshot-store.ts';
import { createExtprocServer, type ExtprocServerOptions } from '../extproc/src/server/server.ts';
import { buildSnapshot } from '../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import type { WorkerTask } from './extproc-worker.ts';
import { percentile, runWorker } from './load-driver.ts';

export const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5_000);
export const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1_000);
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

export interface Row {
  name: string;
  rate: number;
  cpuUsPerRequest: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}

/** `{type, enabled, configJson}` of a snapshot policy. */
export const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });

/** One proxy `bench/NAME` on `/NAME` whose request PreFlow runs `steps` of `policies`. */
export function benchProxy(name: string, policies: Record<string, ReturnType<typeof policy>>, steps: string[]) {
  return {
    namespace: 'bench',
    name,
    route: `bench/${name}`,
    basePath: `/${name}`,
    policies,
    flows: { preFlow: { request: steps.map((p) => ({ policy: p })) } },
  };
}

/** An extproc server on loopback serving `snapshot`, with memory stores. */
export async function startServer(snapshot: RuntimeSnapshot, options: Partial<ExtprocServerOptions> = {}) {
  const store = new SnapshotStore();
  store.apply(buildSnapshot(snapshot));
  const stores = createMemoryStores();
  const gatehouse = createExtprocServer({ snapshots: store, stores, log: pino({ level: 'silent' }), ...options });
  await gatehouse.pool?.ready();
  const port = await gatehouse.listen('127.0.0.1', 0);
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      await gatehouse.shutdown(1000);
      await stores.close();
    },
  };
}

/** Drives `route` for WARMUP_MS + DURATION_MS and returns its row. */
export async function measure(
  name: string,
  address: string,
  route: string,
  request: WorkerTask['request'],
  concurrency = CONCURRENCY,
): Promise<Row> {
  const before = process.cpuUsage();
  const r = await runWorker({ address, route, concurrency, durationMs: DURATION_MS, warmupMs: WARMUP_MS, request });
  const cpu = process.cpuUsage(before);
  const sorted = r.latenciesMs.sort((a, b) => a - b);
  // cpuUsage spans warm-up and measurement, and warm-up streams are not counted apart, so the
  // per-request figure uses the measured rate over the whole run time.
  const streams = (r.completed / DURATION_MS) * (DURATION_MS + WARMUP_MS);
  return {
    name,
    rate: r.completed / (DURATION_MS / 1000),
    cpuUsPerRequest: (cpu.user + cpu.system) / streams,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    statuses: r.statuses,
  };
}

/** The table, the first row being the empty-flow baseline the others are compared with. */
export function printRows(rows: Row[]): void {
  const base = rows[0]!;
  const width = Math.max(...rows.map((r) => r.name.length), 4) + 2;
  process.stdout.write(
    `${'case'.padEnd(width)} ${'streams/s'.padStart(10)} ${'CPU us/req'.padStart(11)} ${'+us vs empty'.padStart(13)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  statuses\n`,
  );
  for (const row of rows) {
    const delta = row.cpuUsPerRequest - base.cpuUsPerRequest;
    const extra = row === base ? '' : `${delta >= 0 ? '+' : ''}${delta.toFixed(0)}`;
    process.stdout.write(
      `${row.name.padEnd(width)} ${row.rate.toFixed(0).padStart(10)} ${row.cpuUsPerRequest.toFixed(0).padStart(11)} ${extra.padStart(13)} ${row.p50.toFixed(2).padStart(8)} ${row.p99.toFixed(2).padStart(8)}  ${JSON.stringify(row.statuses)}\n`,
    );
  }
}
