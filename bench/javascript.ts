// `npm run bench:javascript`: CPU per request and p50/p99 of a 20-line JavaScript policy (headers, query
// parameters, variables, a JSON body rewritten, a SHA-256) against the empty flow with the same request
// in the same run (docs/policies.md#javascript), then what a looping script does to everyone else:
// light empty-flow requests run while other streams send a script that spins to its 200 ms timeLimit,
// with extproc's event-loop delay (perf_hooks.monitorEventLoopDelay) recorded meanwhile, once with the
// worker pool (how extproc runs scripts) and once with `workers: 0` (the script on the event loop), the
// measurement behind running scripts on the pool. CPU is the whole process's per completed stream.
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { runWorker } from './load-driver.ts';
import {
  benchProxy,
  CONCURRENCY,
  DURATION_MS,
  measure,
  policy,
  printRows,
  type Row,
  startServer,
  WARMUP_MS,
} from './policy-vs-empty.ts';

/** Twenty lines of what Apigee proxies' scripts typically do. */
const SCRIPT = `var order = JSON.parse(request.content);
var region = request.headers['x-region'] || 'eu';
var page = parseInt(request.queryParams.page || '1', 10);
var total = 0;
for (var i = 0; i < order.lines.length; i++) {
  total += order.lines[i].qty * order.lines[i].price;
}
order.total = Math.round(total * 100) / 100;
order.region = region;
order.page = page;
var h = crypto.getSHA256();
h.update(order.id + ':' + order.total);
order.digest = h.digest64();
context.setVariable('order.total', String(order.total));
context.setVariable('order.client', context.getVariable('client.ip'));
request.headers['x-order-digest'] = order.digest;
request.content = JSON.stringify(order);
if (context.flow !== 'PROXY_REQ_FLOW') {
  throw new Error('unexpected flow ' + context.flow);
}`;

const body = JSON.stringify({
  id: 'A-1001',
  lines: [
    { sku: 'S-1', qty: 2, price: 9.99 },
    { sku: 'S-2', qty: 1, price: 24.5 },
    { sku: 'S-3', qty: 5, price: 1.25 },
  ],
});

function snapshot(): RuntimeSnapshot {
  const policies = {
    script: policy('JavaScript', { resourceURL: 'jsc://order.js', source: SCRIPT, timeLimit: 200 }),
    spin: policy('JavaScript', { resourceURL: 'jsc://spin.js', source: 'while (true) {}', timeLimit: 200 }),
  };
  return {
    version: 'bench',
    proxies: [
      benchProxy('empty', policies, []),
      benchProxy('script', policies, ['script']),
      benchProxy('spin', policies, ['spin']),
    ],
  };
}

const request = (route: string) => ({
  method: 'POST',
  path: `/${route.split('/')[1]}/orders?page=2`,
  headers: [
    ['content-type', 'application/json'],
    ['x-region', 'us'],
    ['content-length', String(Buffer.byteLength(body))],
  ] as Array<[string, string]>,
  body,
});

/** Light empty-flow requests while `spinners` streams run the looping script; the event loop's delay meanwhile. */
async function underSpin(name: string, address: string): Promise<{ row: Row; loopP99: number; loopMax: number }> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const [row] = await Promise.all([
    measure(name, address, 'bench/empty', request('bench/empty'), 4),
    runWorker({
      address,
      route: 'bench/spin',
      concurrency: 2,
      durationMs: DURATION_MS,
      warmupMs: WARMUP_MS,
      request: request('bench/spin'),
    }),
  ]);
  delay.disable();
  return { row, loopP99: delay.percentile(99) / 1e6, loopMax: delay.max / 1e6 };
}

const server = (workers: number) => startServer(snapshot(), { work: { workers, budgetMs: 5_000 } });

process.stdout.write(
  `JavaScript policy bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} streams in flight, ` +
    `${availableParallelism()} cores, a ${Buffer.byteLength(body)}-byte JSON request; CPU = whole process per stream\n\n`,
);
const pooled = await server(Math.max(1, availableParallelism() - 1));
const rows: Row[] = [];
rows.push(await measure('empty flow', pooled.address, 'bench/empty', request('bench/empty')));
rows.push(await measure('JavaScript, 20 lines (worker pool)', pooled.address, 'bench/script', request('bench/script')));
const spinPool = await underSpin('empty flow beside a looping script (pool)', pooled.address);
rows.push(spinPool.row);
await pooled.close();
const inline = await server(0);
rows.push(await measure('JavaScript, 20 lines (inline)', inline.address, 'bench/script', request('bench/script')));
const spinInline = await underSpin('empty flow beside a looping script (inline)', inline.address);
rows.push(spinInline.row);
await inline.close();

printRows(rows);
process.stdout.write(
  `\nevent-loop delay while scripts looped: pool p99 ${spinPool.loopP99.toFixed(1)} ms, max ${spinPool.loopMax.toFixed(1)} ms; ` +
    `inline p99 ${spinInline.loopP99.toFixed(1)} ms, max ${spinInline.loopMax.toFixed(1)} ms\n`,
);
