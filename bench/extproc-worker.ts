// The load driver's client side, run in a worker thread: it plays Envoy (one ext_proc stream per
// request, request headers + buffered body + response headers) with a fixed number of requests in
// flight, and reports how many completed and their latencies.
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
  request: { method: string; path: string; headers: Array<[string, string]>; body: string };
}

export interface WorkerResult {
  completed: number;
  failed: number;
  latenciesMs: number[];
  statuses: Record<string, number>;
}

const task = workerData as WorkerTask;
const client = createExtProcClient(task.address);
const request: HttpRequest = { ...task.request, authority: 'bench.test', body: Buffer.from(task.request.body) };
const upstream = () => ({
  status: 200,
  headers: [['content-type', 'application/json']] as Array<[string, string]>,
  body: Buffer.from('{"ok":true}'),
});

async function loop(until: number, result: WorkerResult | undefined): Promise<void> {
  while (performance.now() < until) {
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
    if (out.failure) result.failed++;
    else result.completed++;
    result.latenciesMs.push(performance.now() - started);
  }
}

const warmupEnd = performance.now() + task.warmupMs;
await Promise.all(Array.from({ length: task.concurrency }, () => loop(warmupEnd, undefined)));
const result: WorkerResult = { completed: 0, failed: 0, latenciesMs: [], statuses: {} };
const end = performance.now() + task.durationMs;
await Promise.all(Array.from({ length: task.concurrency }, () => loop(end, result)));
client.close();
parentPort!.postMessage(result);
