// The messages between the primary of `gatehouse extproc --workers N` and its workers, over the
// node:cluster IPC channel with advanced (structured clone) serialization (docs/architecture.md#workers).
import type { Registry } from 'prom-client';
import type { ExtprocOptions } from '../command.ts';

/** A registry's metrics as prom-client's AggregatorRegistry.aggregate takes them. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Primary -> worker. */
export type ToWorker =
  /** First message: the parsed options, the worker's slot (1..N) and the Redis replicas sharing each limit. */
  | { type: 'gatehouse:start'; options: ExtprocOptions; worker: number; replicas: number }
  /** A snapshot the primary has accepted, as gatehouse.v1.RuntimeSnapshot bytes. */
  | { type: 'gatehouse:snapshot'; version: string; bytes: Uint8Array }
  | { type: 'gatehouse:metrics'; id: number };

/** Worker -> primary. */
export type FromWorker =
  /** Its listeners are set: messages sent before this would have been lost, so the primary waits for it. */
  | { type: 'gatehouse:hello' }
  | { type: 'gatehouse:applied'; version: string }
  | { type: 'gatehouse:rejected'; version: string; error: string }
  /** Listening on the shared port (after its first snapshot). */
  | { type: 'gatehouse:serving'; port: number }
  | { type: 'gatehouse:metrics'; id: number; metrics: MetricsJson };

export function isMessage<T extends { type: string }>(message: unknown): message is T {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string' &&
    (message as { type: string }).type.startsWith('gatehouse:')
  );
}

/** The env variable naming a worker's slot, so logs and metrics of a restarted worker keep its number. */
export const WORKER_ENV = 'GATEHOUSE_EXTPROC_WORKER';
