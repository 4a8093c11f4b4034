// bench/tracing.ts's load driver, in a worker thread: plays Envoy with tracing, one ext_proc stream
// per request with a fresh W3C traceparent in the stream's gRPC metadata, sampled for `sampledPercent`
// of the requests (flags 01, else 00), as Envoy's gRPC client sends it; or none. Also hosts the OTLP
// receiver when asked, so the collector's work is not on the server's event loop.
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { createExtProcClient } from '../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange } from '../devproxy/src/ext-proc/exchange.ts';
import type { HttpRequest } from '../devproxy/src/http/message.ts';
import { startOtlpReceiver } from '../e2e/env/otlp-receiver.ts';

export type TracingWorkerTask =
  | {
      kind: 'drive';
      address: string;
      route: string;
      concurrency: number;
      durationMs: number;
      warmupMs: number;
      /** undefined: no traceparent (Envoy without tracing). */
      sampledPercent?: number;
      request: { method: string; path: string; headers: Array<[string, string]>; body: string };
    }
  | { kind: 'collector' };

export interface TracingWorkerResult {
  completed: number;
  failed: number;
  statuses: Record<string, number>;
}

const task = workerData as TracingWorkerTask;

if (task.kind === 'collector') {
  // Answers every export; reports its address, then the spans received when asked.
  const receiver = await startOtlpReceiver();
  parentPort!.postMessage({ address: receiver.address });
  parentPort!.on('message', () => {
    parentPort!.postMessage({ spans: receiver.spans.length });
    receiver.spans.length = 0;
  });
} else {
  const client = createExtProcClient(task.address);
  const request: HttpRequest = { ...task.request, authority: 'bench.test', body: Buffer.from(task.request.body) };
  const upstream = () => ({
    status: 200,
    headers: [['content-type', 'application/json']] as Array<[string, string]>,
    body: Buffer.from('{"ok":true}'),
  });
  let n = 0;
  const traceparent = (): Array<[string, string]> => {
    if (task.sampledPercent === undefined) return [];
    // Every 100/p-th request sampled: an exact share, as Envoy's random_sampling is on average.
    const sampled = task.sampledPercent > 0 && n++ % Math.round(100 / task.sampledPercent) === 0;
    return [
      ['traceparent', `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-0${sampled ? 1 : 0}`],
    ];
  };
  const loop = async (until: number, result: TracingWorkerResult | undefined) => {
    while (performance.now() < until) {
      const out = await runExtProcExchange({
        client,
        route: task.route,
        initialMetadata: traceparent(),
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
    }
  };
  const warmupEnd = performance.now() + task.warmupMs;
  await Promise.all(Array.from({ length: task.concurrency }, () => loop(warmupEnd, undefined)));
  // The server measures from this message to the result.
  parentPort!.postMessage({ measuring: true });
  const result: TracingWorkerResult = { completed: 0, failed: 0, statuses: {} };
  const end = performance.now() + task.durationMs;
  await Promise.all(Array.from({ length: task.concurrency }, () => loop(end, result)));
  client.close();
  parentPort!.postMessage(result);
}
