// `npm run bench:javacallout`: a JavaCallout round trip to the real Java callout host (built by
// e2e/env/java.ts, the test callout compiled with Maven) against the empty flow, in the same run.
// Each case builds a request's PolicyContext as extproc does per stream and runs the step (none for
// the empty flow) with CONCURRENCY in flight for a bounded time. It reports requests/s, p50/p99
// latency, extproc's CPU per request (this process) and the host's (the JVM, from /proc).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { compileCallout, ensureJavaHost, startJavaHost } from '../e2e/env/java.ts';
import { GrpcCallouts } from '../extproc/src/callouts/external-callout-client.ts';
import { decodeRuntimeSnapshot } from '../extproc/src/config/decode.ts';
import { SnapshotRuntimeIndex } from '../extproc/src/config/runtime-index.ts';
import { Exchange } from '../extproc/src/flow/exchange.ts';
import { createRequestMessage } from '../extproc/src/flow/message.ts';
import type { PolicyStep } from '../extproc/src/flow/types.ts';
import { javaCalloutPolicy } from '../extproc/src/policies/extension/java-callout.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 3_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const log = pino({ level: 'silent' });
const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-javacallout-'));
const jars = join(work, 'jars');
mkdirSync(jars);
const built = ensureJavaHost((line) => process.stdout.write(`${line}\n`));
const project = join(work, 'callout');
cpSync(
  join(import.meta.dirname, '..', 'extproc', 'src', 'policies', 'extension', 'testdata', 'java-callout'),
  project,
  {
    recursive: true,
  },
);
cpSync(compileCallout(project, built.apiJar), join(jars, 'callouts.jar'));
const host = await startJavaHost(built, { jars, logDir: work, maxConcurrent: 256 });
process.env.GATEHOUSE_JAVA_CALLOUT_HOST = host.address;

const callouts = new GrpcCallouts({ log });
const decoded = decodeRuntimeSnapshot({
  version: 'bench',
  proxies: [{ namespace: 'bench', name: 'orders', route: 'bench/orders', basePath: '/orders' }],
});
const runtime = new SnapshotRuntimeIndex(decoded);
const stores = createMemoryStores();

function context() {
  const request = createRequestMessage({
    method: 'GET',
    path: '/orders/items?page=2',
    scheme: 'https',
    authority: 'api.test',
    headers: { 'x-in': 'bench', accept: 'application/json' },
    body: undefined,
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
    client: { ip: '198.51.100.7', cn: '' },
  }).context('request');
}

/** The JVM's CPU time so far, microseconds (utime + stime of /proc/PID/stat, in clock ticks of 10 ms). */
function hostCpuUs(): number {
  const fields = readFileSync(`/proc/${host.process.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

interface Row {
  name: string;
  rate: number;
  p50: number;
  p99: number;
  cpuUs: number;
  hostCpuUs: number;
}

async function measure(name: string, step: PolicyStep | undefined): Promise<Row> {
  const latencies: number[] = [];
  const loop = async (until: number, record: boolean) => {
    while (performance.now() < until) {
      const started = performance.now();
      const ctx = context();
      if (step) await step(ctx);
      if (record) latencies.push(performance.now() - started);
      // Yield like a stream would between messages, so the empty flow does not starve the event loop.
      else await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(performance.now() + WARMUP_MS, false)));
  const cpu = process.cpuUsage();
  const jvm = hostCpuUs();
  const end = performance.now() + DURATION_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(end, true)));
  const used = process.cpuUsage(cpu);
  const n = latencies.length;
  latencies.sort((a, b) => a - b);
  return {
    name,
    rate: n / (DURATION_MS / 1000),
    p50: latencies[Math.floor(n * 0.5)]!,
    p99: latencies[Math.floor(n * 0.99)]!,
    cpuUs: (used.user + used.system) / n,
    hostCpuUs: (hostCpuUs() - jvm) / n,
  };
}

const step = javaCalloutPolicy.create(
  {
    className: 'test.callouts.TestCallout',
    resourceURL: 'java://callouts.jar',
    properties: { greeting: 'hello' },
    timeoutMs: 5_000,
  },
  { namespace: 'bench', name: 'java' },
);

process.stdout.write(
  `javacallout bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} in flight, host ${built.origin}\n\n`,
);
const rows = [await measure('empty flow', undefined), await measure('JavaCallout round trip', step)];
process.stdout.write(
  `${'case'.padEnd(24)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'extproc CPU us/req'.padStart(19)} ${'x empty'.padStart(8)} ${'host CPU us/req'.padStart(16)}\n`,
);
for (const r of rows) {
  process.stdout.write(
    `${r.name.padEnd(24)} ${r.rate.toFixed(0).padStart(9)} ${r.p50.toFixed(3).padStart(8)} ${r.p99.toFixed(3).padStart(8)} ${r.cpuUs.toFixed(1).padStart(19)} ${(r.cpuUs / rows[0]!.cpuUs).toFixed(1).padStart(8)} ${r.hostCpuUs.toFixed(1).padStart(16)}\n`,
  );
}

callouts.close();
await host.process.stop();
rmSync(work, { recursive: true, force: true });
