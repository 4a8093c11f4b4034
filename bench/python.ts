// `npm run bench:python`: CPU per request and p50/p99 of a small Script (Python) policy against the
// empty flow with the same request in the same run (docs/policies.md#script-python), plus the Python
// pool's start: each thread's load time and the process RSS it added. CPU is the whole process's
// (process.cpuUsage: the load driver, the event loop and the pyodide threads) divided by streams; the
// policy's cost is the difference to the empty flow's row. Requests go over ext_proc gRPC to a real
// extproc server, as Envoy's would.
import { availableParallelism } from 'node:os';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { closePythonPool, configurePythonPool, pythonPool } from '../extproc/src/policies/extension/python/pool.ts';
import {
  benchProxy,
  CONCURRENCY,
  DURATION_MS,
  measure,
  policy,
  printRows,
  startServer,
  WARMUP_MS,
} from './policy-vs-empty.ts';

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

function snapshot(): RuntimeSnapshot {
  const policies = {
    py: policy('Script', { resourceURL: 'py://claims.py', source, properties: { tier: 'gold' }, timeLimit: 1000 }),
  };
  return { version: 'bench', proxies: [benchProxy('empty', policies, []), benchProxy('python', policies, ['py'])] };
}

const request = (route: string) => ({
  method: 'GET',
  path: `/${route.split('/')[1]}/orders/42`,
  headers: [['x-user', 'ada']] as Array<[string, string]>,
  body: '',
});

configurePythonPool({ size: WORKERS, waitMs: 5_000 });
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
// Loading the snapshot creates the Script step, which starts the pool.
const server = await startServer(snapshot());
await pythonPool().ready();
const readyMs = performance.now() - started;
const rssAfter = process.memoryUsage().rss;

process.stdout.write(
  `Python Script bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} streams in flight, ` +
    `${availableParallelism()} cores, ${WORKERS} Python threads; CPU = whole process per stream\n` +
    `pool start: ${pythonPool()
      .startTimes.map((ms) => `${(ms / 1000).toFixed(2)}s`)
      .join(', ')} per thread (all ready after ${(readyMs / 1000).toFixed(2)}s); ` +
    `RSS +${((rssAfter - rssBefore) / WORKERS / 1024 / 1024).toFixed(0)} MiB per thread\n\n`,
);
printRows([
  await measure('empty flow', server.address, 'bench/empty', request('bench/empty')),
  await measure('Script (Python, 8 lines)', server.address, 'bench/python', request('bench/python')),
]);

await server.close();
await closePythonPool();
