// The /metrics of `gatehouse extproc --workers N` (docs/architecture.md#workers): every worker's registry
// summed with prom-client's AggregatorRegistry.aggregate (counters, gauges and histogram buckets add up;
// process metrics use their own aggregators), the primary's own series added.
import { AggregatorRegistry } from 'prom-client';
import type { MetricsJson } from './protocol.ts';

/** Series the primary owns: a pod loads each snapshot once, whatever its workers. */
export const PRIMARY_SERIES = new Set([
  'gatehouse_extproc_snapshot_info',
  'gatehouse_extproc_snapshot_loads_total',
  'gatehouse_extproc_workers',
  'gatehouse_extproc_worker_restarts_total',
  'gatehouse_extproc_worker_snapshot_failures_total',
]);

/** The primary's own process counts in the pod's totals (RSS, CPU, heap): process_* and nodejs_*. */
const isProcessSeries = (name: string) => name.startsWith('process_') || name.startsWith('nodejs_');

/** `primary`: the primary's whole registry; `workers`: each worker's, as it answered the scrape. */
export async function aggregateMetrics(primary: MetricsJson, workers: unknown[]): Promise<string> {
  const own = primary.filter((m) => PRIMARY_SERIES.has(m.name) || isProcessSeries(m.name));
  const theirs = workers
    .filter((w): w is MetricsJson => Array.isArray(w))
    .map((w) =>
      w
        .filter((m) => !PRIMARY_SERIES.has(m.name))
        // A version is served or not: one worker's 1 and another's 1 are still 1.
        .map((m) => (m.name === 'gatehouse_extproc_worker_snapshot_info' ? { ...m, aggregator: 'max' as const } : m)),
    );
  return AggregatorRegistry.aggregate([own, ...theirs]).metrics();
}
