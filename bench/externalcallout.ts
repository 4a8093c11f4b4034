// `npm run bench:externalcallout`: an ExternalCallout round trip (plain text, request headers and a
// 1 KB JSON body sent, one header and one variable returned) against the empty flow, in the same run.
// The callout server runs in its own process (bench/externalcallout-server.ts), so the CPU figures are
// the gateway side's: building the MessageContext, grpc-js, applying the reply. Reports CPU per
// request on this thread, p50/p99 of sequential requests, and requests/s with 16 in flight.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { GrpcCallouts } from '../extproc/src/callouts/external-callout-client.ts';
import { decodeRuntimeSnapshot } from '../extproc/src/config/decode.ts';
import { SnapshotRuntimeIndex } from '../extproc/src/config/runtime-index.ts';
import { Exchange } from '../extproc/src/flow/exchange.ts';
import { createRequestMessage } from '../extproc/src/flow/message.ts';
import type { ExternalCallouts, PolicyStep } from '../extproc/src/flow/types.ts';
import { externalCalloutPolicy } from '../extproc/src/policies/extension/external-callout.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3_000);
const CONCURRENCY = 16;
const log = pino({ level: 'silent' });
const proxy = { namespace: 'bench', name: 'orders', route: 'bench/orders', basePath: '/orders' };
const decoded = decodeRuntimeSnapshot({ version: 'bench', proxies: [proxy] });
const runtime = new SnapshotRuntimeIndex(decoded);
const stores = createMemoryStores();
const body = Buffer.from(
  JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) }),
);

/** A request's PolicyContext as extproc builds one per stream. */
function contextFor(callouts: ExternalCallouts) {
  const request = createRequestMessage({
    method: 'POST',
    path: '/orders/items',
    scheme: 'https',
    authority: 'api.test',
    headers: { 'content-type': 'application/json', 'x-request-id': 'bench', accept: 'application/json' },
    body,
  });
  return new Exchange({
    request,
    proxy: decoded.proxies[0]!,
    runtime,
    stores,
    callouts,
    log,
    now: Date.now,
    environmentName: 'bench',
    messageId: 'bench',
    client: { ip: '127.0.0.1', cn: '' },
  }).context('request');
}

interface Result {
  name: string;
  requests: number;
  cpuUsPerRequest: number;
  p50Us: number;
  p99Us: number;
  perSecond: number;
}

async function measure(name: string, step: PolicyStep, callouts: ExternalCallouts): Promise<Result> {
  const one = async () => {
    await step(contextFor(callouts));
  };
  for (let i = 0; i < 500; i++) await one(); // warm up: JIT, the connection
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const deadline = Date.now() + DURATION_MS;
  while (Date.now() < deadline) {
    const t = process.hrtime.bigint();
    await one();
    latencies.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  const parallelDeadline = Date.now() + DURATION_MS;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < parallelDeadline) {
        await one();
        done++;
      }
    }),
  );
  return {
    name,
    requests: latencies.length,
    cpuUsPerRequest: (used.user + used.system) / latencies.length,
    p50Us: latencies[Math.floor(latencies.length * 0.5)]!,
    p99Us: latencies[Math.floor(latencies.length * 0.99)]!,
    perSecond: done / ((Date.now() - started) / 1000),
  };
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, [new URL('./externalcallout-server.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [first] = (await once(lines, 'line')) as [string];
  const port = Number(/^PORT (\d+)$/.exec(first)?.[1]);
  const callouts = new GrpcCallouts({ log });
  try {
    const meta = { namespace: 'bench', name: 'enrich' };
    const empty: PolicyStep = () => undefined;
    const callout = externalCalloutPolicy.create(
      {
        timeoutMs: 1000,
        grpcConnection: { server: `127.0.0.1:${port}` },
        configurations: {
          withRequestHeaders: true,
          withRequestContent: true,
          flowVariables: ['request.header.x-request-id'],
        },
      },
      meta,
    );
    const results = [await measure('empty flow', empty, callouts), await measure('ExternalCallout', callout, callouts)];
    const base = results[0]!;
    console.log(
      `${DURATION_MS} ms per case and phase (BENCH_DURATION_MS to change); callout server in its own process; ${CONCURRENCY} in flight for req/s:`,
    );
    for (const r of results)
      console.log(
        `  ${r.name.padEnd(16)} CPU ${r.cpuUsPerRequest.toFixed(1).padStart(7)} µs/req (x${(r.cpuUsPerRequest / base.cpuUsPerRequest).toFixed(1)} of the empty flow)   p50 ${r.p50Us.toFixed(0).padStart(5)} µs   p99 ${r.p99Us.toFixed(0).padStart(5)} µs   ${r.perSecond.toFixed(0).padStart(7)} req/s   (${r.requests} sequential requests)`,
      );
  } finally {
    callouts.close();
    child.kill('SIGTERM');
  }
}

await main();
