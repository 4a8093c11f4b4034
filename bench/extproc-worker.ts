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
  /** HTTP/2 connections, the streams spread over them (default 1). `--workers` takes connections, not streams. */
  connections?: number;
  /**
   * Open loop: start this many exchanges per second during the measured phase whatever the answers
   * (`concurrency` then only caps those in flight); latency counts from each one's scheduled start.
   */
  ratePerSecond?: number;
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
// A subchannel pool per client: grpc-js would otherwise share one connection between them.
const clients = Array.from({ length: Math.max(1, task.connections ?? 1) }, () =>
  createExtProcClient(task.address, { 'grpc.use_local_subchannel_pool': 1 }),
);
let nextClient = 0;
const request: HttpRequest = { ...task.request, authority: 'bench.test', body: Buffer.from(task.request.body) };
const upstream = () => ({
  status: 200,
  headers: [['content-type', 'application/json']] as Array<[string, string]>,
  body: Buffer.from('{"ok":true}'),
});

/** Runs exchanges until `more()` says no; each loop claims its next exchange before starting it. */
async function loop(more: () => boolean, result: WorkerResult | undefined): Promise<void> {
  const client = clients[nextClient++ % clients.length]!;
  while (more()) await exchange(client, performance.now(), result);
}

async function exchange(
  client: (typeof clients)[number],
  started: number,
  result: WorkerResult | undefined,
): Promise<void> {
  const out = await runExtProcExchange({
    client,
    route: task.route,
    request,
    upstream,
    timeoutMs: 5000,
    mode: { requestBodyMode: 'BUFFERED' },
    connection: { sourceAddress: '198.51.100.7:40000', requestId: 'bench' },
  });
  if (!result) return;
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
if (task.ratePerSecond !== undefined) {
  await paced(task.ratePerSecond, started + task.durationMs);
  more = () => false;
} else if (task.requests !== undefined) {
  let left = task.requests;
  more = () => left-- > 0;
} else {
  const end = started + task.durationMs;
  more = () => performance.now() < end;
}
await Promise.all(Array.from({ length: task.concurrency }, () => loop(more, result)));
result.elapsedMs = performance.now() - started;
for (const c of clients) c.close();
parentPort!.postMessage(result);

/** The open loop: exchanges started on schedule until `end`; one that would pass `concurrency` in flight is counted as failed. */
async function paced(rate: number, end: number): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    const due = Math.floor(((now - started) * rate) / 1000);
    while (sent < due) {
      const scheduled = started + (sent * 1000) / rate;
      sent++;
      if (inFlight.size >= task.concurrency) {
        result.failed++;
        result.failures ??= {};
        (result.failures['overload'] ??= { count: 0, first: 'more than concurrency in flight' }).count++;
        continue;
      }
      const p: Promise<void> = exchange(clients[sent % clients.length]!, scheduled, result).finally(() =>
        inFlight.delete(p),
      );
      inFlight.add(p);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
}
