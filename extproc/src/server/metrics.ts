// Prometheus metrics of the ext_proc server, in a registry of its own (one per server, so tests can
// run several). Names follow gatehouse_extproc_*.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type StreamOutcome =
  | 'completed'
  | 'cancelled'
  | 'immediate_response'
  | 'protocol_error'
  | 'internal_error'
  /** Over --max-streams: ended with RESOURCE_EXHAUSTED before reading anything. */
  | 'refused'
  /** No message for --stream-idle-timeout-ms: ended with DEADLINE_EXCEEDED. */
  | 'idle_timeout';

export interface ServerProbes {
  queuedTasks(): number;
  busyWorkers(): number;
  bufferedBodyBytes(): number;
}

export class ExtprocMetrics {
  readonly registry = new Registry();
  readonly activeStreams = new Gauge({
    name: 'gatehouse_extproc_active_streams',
    help: 'ext_proc streams open now',
    registers: [this.registry],
  });
  readonly streams = new Counter({
    name: 'gatehouse_extproc_streams_total',
    help: 'ext_proc streams by how they ended',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly phaseSeconds = new Histogram({
    name: 'gatehouse_extproc_phase_duration_seconds',
    help: 'time to answer one ProcessingRequest, by phase',
    labelNames: ['phase'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly faults = new Counter({
    name: 'gatehouse_extproc_faults_total',
    help: 'fault responses by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly refusedChanges = new Counter({
    name: 'gatehouse_extproc_refused_changes_total',
    help: 'changes policies made that Envoy would not apply, refused at the policy (gatehouse.RefusedChange), by policy type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly snapshotInfo = new Gauge({
    name: 'gatehouse_extproc_snapshot_info',
    help: 'the runtime snapshot being served (value 1)',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });
  readonly offloadTasks = new Counter({
    name: 'gatehouse_extproc_offload_tasks_total',
    help: 'policy tasks on large bodies run on the worker pool, by how they ended',
    labelNames: ['task', 'result'] as const,
    registers: [this.registry],
  });
  /** Read at scrape time, once the server has set them. */
  private probes: ServerProbes | undefined;
  readonly offloadQueue = this.probed(
    'gatehouse_extproc_offload_queue_tasks',
    'policy tasks waiting for a worker',
    (p) => p.queuedTasks(),
  );
  readonly offloadBusy = this.probed('gatehouse_extproc_offload_busy_workers', 'workers running a policy task', (p) =>
    p.busyWorkers(),
  );
  readonly bufferedBodyBytes = this.probed(
    'gatehouse_extproc_buffered_body_bytes',
    'body bytes held by open streams, against --max-buffered-body-bytes',
    (p) => p.bufferedBodyBytes(),
  );
  readonly snapshotLoads = new Counter({
    name: 'gatehouse_extproc_snapshot_loads_total',
    help: 'snapshot loads by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** Label children bound once: the per-message path then skips prom-client's label hashing. */
  private readonly phaseChildren = new Map<string, { observe(seconds: number): void }>();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The server's live figures behind the probed gauges. */
  setProbes(probes: ServerProbes): void {
    this.probes = probes;
  }

  private probed(name: string, help: string, read: (probes: ServerProbes) => number): Gauge {
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      collect: () => {
        if (this.probes) gauge.set(read(this.probes));
      },
    });
    return gauge;
  }

  observePhase(phase: string, seconds: number): void {
    let child = this.phaseChildren.get(phase);
    if (!child) {
      child = this.phaseSeconds.labels(phase);
      this.phaseChildren.set(phase, child);
    }
    child.observe(seconds);
  }

  snapshotApplied(version: string): void {
    this.snapshotInfo.reset();
    this.snapshotInfo.set({ version }, 1);
    this.snapshotLoads.inc({ result: 'applied' });
  }
}
