import { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ExtprocMetrics } from '../server/metrics.ts';
import { aggregateMetrics } from './metrics.ts';

/** A worker's registry after some traffic, with the per-worker series cluster/worker.ts adds. */
function worker(id: number, streams: number, version: string) {
  const m = new ExtprocMetrics({ processMetrics: true });
  for (let i = 0; i < streams; i++) {
    m.streams.inc({ outcome: 'completed' });
    m.observePhase('requestHeaders', 0.0003 * (i + 1));
  }
  m.activeStreams.set(id);
  m.snapshotApplied(version);
  new Counter({
    name: 'gatehouse_extproc_worker_streams_total',
    help: 'by worker',
    labelNames: ['worker'],
    registers: [m.registry],
  }).inc({ worker: String(id) }, streams);
  return m.registry.getMetricsAsJSON();
}

const value = (text: string, series: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(series + ' ') || l.startsWith(series + '{'))
    .map((l) => Number(l.split(' ').at(-1)));

describe('the metrics of --workers N', () => {
  it('sums counters, gauges and histograms over the workers, keeps per-worker series apart, and takes the snapshot series from the primary', async () => {
    const primary = new ExtprocMetrics({ processMetrics: true });
    primary.snapshotApplied('v2');
    // A series the primary has but does not own (it serves no stream): never added to the workers'.
    primary.streams.inc({ outcome: 'completed' }, 1000);
    const text = await aggregateMetrics(await primary.registry.getMetricsAsJSON(), [
      await worker(1, 3, 'v2'),
      await worker(2, 5, 'v2'),
    ]);
    expect(value(text, 'gatehouse_extproc_streams_total{outcome="completed"}')).toEqual([8]);
    expect(value(text, 'gatehouse_extproc_active_streams')).toEqual([3]);
    expect(value(text, 'gatehouse_extproc_phase_duration_seconds_count{phase="requestHeaders"}')).toEqual([8]);
    expect(value(text, 'gatehouse_extproc_phase_duration_seconds_bucket{le="+Inf",phase="requestHeaders"}')).toEqual([
      8,
    ]);
    expect(value(text, 'gatehouse_extproc_worker_streams_total{worker="1"}')).toEqual([3]);
    expect(value(text, 'gatehouse_extproc_worker_streams_total{worker="2"}')).toEqual([5]);
    // Loaded once per pod: the primary's count, not 1 + N.
    expect(value(text, 'gatehouse_extproc_snapshot_loads_total{result="applied"}')).toEqual([1]);
    expect(value(text, 'gatehouse_extproc_snapshot_info{version="v2"}')).toEqual([1]);
    // RSS: the pod's, all three processes.
    expect(value(text, 'process_resident_memory_bytes')[0]).toBeGreaterThan(0);
  });

  it('skips a worker whose answer is not a registry, and answers with none', async () => {
    const primary = new ExtprocMetrics();
    primary.snapshotApplied('v1');
    const text = await aggregateMetrics(await primary.registry.getMetricsAsJSON(), [
      'garbage',
      null,
      { name: 'x' },
      await worker(1, 2, 'v1'),
    ]);
    expect(value(text, 'gatehouse_extproc_streams_total{outcome="completed"}')).toEqual([2]);
    expect(await aggregateMetrics(await primary.registry.getMetricsAsJSON(), [])).toContain(
      'gatehouse_extproc_snapshot_info{version="v1"} 1',
    );
  });
});
