// `npm run bench:python`: CPU per request and p50/p99 of a small Script (Python) policy against the
// empty flow with the same request in the same run (docs/policies.md#script-python), plus the Python
// pool's start: each thread's load time and the process RSS it added. CPU is the whole process's
// (process.cpuUsage: the load driver, the event loop and the pyodide threads) divided by streams; the
// policy's cost is the difference to the empty flow's row. Requests go over ext_proc gRPC to a real
// extproc server, as Envoy's would.
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { SnapshotStore } from '../extproc/src/config/snapshot-store.ts';
import { closePythonPool, configurePythonPool, pythonPool } from '../extproc/src/policies/extension/python/pool.ts';
import { createExtprocServer } from '../extproc/src/server/server.ts';
import { buildSnapshot } from '../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { percentile, runWorker } from './load-driver.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const WORKERS = Number(process.env.BENCH_PYTHON_WORKERS ?? 2);

// A typical small script: read two variables, a little string and JSON work, set a header and a variable.
const source = `import json
user = flow.getVariable("request.header.x-user")
path = flow.getVariable("request.path")
tier = properties.get("tier", "free")
parts = [p for p in path.split("/") if p]
claims = {"sub": user, "tier": tier, "resource": parts[-1] if parts else ""}
flow.setVariable("request.header.x-claims", json.dumps(claims, sort_keys=True))
flow.setVariable("script.parts", len(parts))
`;

const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });

function snapshot(): RuntimeSnapshot {
  const proxy = (name: string, steps: string[]) => ({
    namespace: 'bench',
    name,
    route: `bench/${name}`,
    basePath: `/${name}`,
    policies: {
      py: policy('Script', { resourceURL: 'py://claims.py', source, properties: { tier: 'gold' }, timeLimit: 1000 }),
    },
    flows: { preFlow: { request: steps.map((p) => ({ policy: p })) } },
  });
  return { version: 'bench', proxies: [proxy('empty', []), proxy('python', ['py'])] };
}

interface Row {
  name: string;
  rate: number;
  cpuUsPerRequest: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}

async function measure(name: string, address: string, route: string): Promise<Row> {
  const before = process.cpuUsage();
  const r = await runWorker({
    address,
    route,
    concurrency: CONCURRENCY,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    request: { method: 'GET', path: `/${route.split('/')[1]}/orders/42`, headers: [['x-user', 'ada']], body: '' },
  });
  const cpu = process.cpuUsage(before);
  const sorted = r.latenciesMs.sort((a, b) => a - b);
  // cpuUsage spans warm-up and measurement: the per-request figure uses the rate over the whole run.
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

configurePythonPool({ size: WORKERS, waitMs: 5_000 });
const rssBefore = process.memoryUsage().rss;
const store = new SnapshotStore();
// Loading the snapshot creates the Script step, which starts the pool.
store.apply(buildSnapshot(snapshot()));
const started = performance.now();
await pythonPool().ready();
const readyMs = performance.now() - started;
const rssAfter = process.memoryUsage().rss;

const stores = createMemoryStores();
const gatehouse = createExtprocServer({ snapshots: store, stores, log: pino({ level: 'silent' }) });
const port = await gatehouse.listen('127.0.0.1', 0);
const address = `127.0.0.1:${port}`;

process.stdout.write(
  `Python Script bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} streams in flight, ` +
    `${availableParallelism()} cores, ${WORKERS} Python threads; CPU = whole process per stream\n` +
    `pool start: ${pythonPool()
      .startTimes.map((ms) => `${(ms / 1000).toFixed(2)}s`)
      .join(', ')} per thread (all ready after ${(readyMs / 1000).toFixed(2)}s); ` +
    `RSS +${((rssAfter - rssBefore) / WORKERS / 1024 / 1024).toFixed(0)} MiB per thread\n\n`,
);
const rows: Row[] = [];
rows.push(await measure('empty flow', address, 'bench/empty'));
rows.push(await measure('Script (Python, 8 lines)', address, 'bench/python'));

const base = rows[0]!;
process.stdout.write(
  `${'case'.padEnd(28)} ${'streams/s'.padStart(10)} ${'CPU us/req'.padStart(11)} ${'+us vs empty'.padStart(13)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  statuses\n`,
);
for (const row of rows) {
  const delta = row.cpuUsPerRequest - base.cpuUsPerRequest;
  const extra = row === base ? '' : `${delta >= 0 ? '+' : ''}${delta.toFixed(0)}`;
  process.stdout.write(
    `${row.name.padEnd(28)} ${row.rate.toFixed(0).padStart(10)} ${row.cpuUsPerRequest.toFixed(0).padStart(11)} ${extra.padStart(13)} ${row.p50.toFixed(2).padStart(8)} ${row.p99.toFixed(2).padStart(8)}  ${JSON.stringify(row.statuses)}\n`,
  );
}

await gatehouse.shutdown(1000);
await stores.close();
await closePythonPool();
