// The worker side of the pool's protocol: say ready once the task code is loaded, then run one task
// per message and answer with its result. A task that throws is reported, not fatal; anything that
// kills the thread (out of memory) is seen by the pool as the worker's exit.
import { parentPort } from 'node:worker_threads';

export interface WorkerRequest {
  id: number;
  task: string;
  input: unknown;
}

export type WorkerReply =
  { kind: 'ready' } | { kind: 'done'; id: number; value: unknown } | { kind: 'failed'; id: number; message: string };

export function serve(run: (task: string, input: unknown) => unknown): void {
  const port = parentPort;
  if (!port) return;
  const failed = (id: number, error: unknown): WorkerReply => ({
    kind: 'failed',
    id,
    message: error instanceof Error ? error.message : String(error),
  });
  port.on('message', (request: WorkerRequest) => {
    let value: unknown;
    try {
      value = run(request.task, request.input);
    } catch (error) {
      port.postMessage(failed(request.id, error));
      return;
    }
    // A task may answer with a promise (XSLTransform's engine is async, though it never waits on I/O).
    if (value instanceof Promise) {
      value.then(
        (settled: unknown) => port.postMessage({ kind: 'done', id: request.id, value: settled } satisfies WorkerReply),
        (error: unknown) => port.postMessage(failed(request.id, error)),
      );
      return;
    }
    port.postMessage({ kind: 'done', id: request.id, value } satisfies WorkerReply);
  });
  port.postMessage({ kind: 'ready' } satisfies WorkerReply);
}
