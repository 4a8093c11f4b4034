// The load driver's client side, run in a worker thread: it plays Envoy (one ext_proc stream per
// request, request headers + buffered body + response headers) with a fixed number of requests in
// flight, and reports how many completed and their latencies. The measured phase runs for
// `durationMs`, or for exactly `requests` exchanges when given; with `holdAfterWarmup` the worker
// says 'warm' after the warm-up and waits for the parent's 'go' (so the parent can sample the
// server's CPU counters exactly around the measured phase).
import { parentPort, workerData } from 'node:worker_threads';
import { createExtProcClient } from '../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange } from '../devproxy/src/ext-proc/exchange.ts';
import type { HttpRequest } from '../devproxy/src/http/message.ts';

export interface WorkerTask {
  address: string;
  route: string;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /** Run the measured phase for exactly this many exchanges instead of `durationMs`. */
  requests?: number;
  /** Post 'warm' after the warm-up and wait for 'go' before measuring. */
  holdAfterWarmup?: boolean;
  request: { method: string; path: string; headers: Array<[string, string]>; body: string };
}

export interface WorkerResult {
  completed: number;
  failed: number;
  latenciesMs: number[];
  statuses: Record<string, number>;
  /** Wall time of the measured phase. */
  elapsedMs: number;
  /** The first failure of each kind (its code) and how many there were, to tell a broken case from a slow one. */
  failures?: Record<string, { count: number; first: string }>;
}

const task = workerData as WorkerTask;
const client = createExtProcClient(task.address);
const request: HttpRequest = { ...task.request, authority: 'bench.test', body: Buffer.from(task.request.body) };
const upstream = () => ({
  status: 200,
  headers: [['content-type', 'application/json']] as Array<[string, string]>,
  body: Buffer.from('{"ok":true}'),
});

/** Runs exchanges until `more()` says no; each loop claims its next exchange before starting it. */
async function loop(more: () => boolean, result: WorkerResult | undefined): Promise<void> {
  while (more()) {
    const started = performance.now();
    const out = await runExtProcExchange({
      client,
      route: task.route,
      request,
      upstream,
      timeoutMs: 5000,
      mode: { requestBodyMode: 'BUFFERED' },
      connection: { sourceAddress: '198.51.100.7:40000', requestId: 'bench' },
    });
    if (!result) continue;
    const status = String(out.response.status);
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    if (out.failure) {
      result.failed++;
      const code = out.failureCode ?? 'unknown';
      result.failures ??= {};
      const seen = (result.failures[code] ??= { count: 0, first: out.failure });
      seen.count++;
    } else result.completed++;
    result.latenciesMs.push(performance.now() - started);
  }
}

const warmupEnd = performance.now() + task.warmupMs;
await Promise.all(Array.from({ length: task.concurrency }, () => loop(() => performance.now() < warmupEnd, undefined)));
if (task.holdAfterWarmup) {
  await new Promise<void>((resolve) => {
    parentPort!.once('message', () => resolve());
    parentPort!.postMessage('warm');
  });
}
const result: WorkerResult = { completed: 0, failed: 0, latenciesMs: [], statuses: {}, elapsedMs: 0 };
const started = performance.now();
let more: () => boolean;
if (task.requests !== undefined) {
  let left = task.requests;
  more = () => left-- > 0;
} else {
  const end = started + task.durationMs;
  more = () => performance.now() < end;
}
await Promise.all(Array.from({ length: task.concurrency }, () => loop(more, result)));
result.elapsedMs = performance.now() - started;
client.close();
parentPort!.postMessage(result);
