// Prometheus metrics of the ext_proc server, in a registry of its own (one per server, so tests can
// run several). Names follow gatehouse_extproc_*.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { errorCodes } from '../../../lib/error-codes.ts';
import type { StepOutcome } from '../flow/exchange.ts';
import { BoundedLabel } from './bounded-label.ts';

/** Fault codes a label may carry: the catalogue's (lib/error-codes.ts); any other is `other`. */
const knownFaultCodes = new Set(errorCodes.filter((e) => e.family === 'fault').map((e) => e.code));
const faultCodeLabel = (code: string) => (knownFaultCodes.has(code) ? code : 'other');

const latencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

export interface MetricsOptions {
  processMetrics?: boolean;
  /** Distinct proxy label values kept; later proxies are counted as `_other` (--metrics-max-proxies). */
  maxProxies?: number;
}

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
  readonly egressRequests = new Counter({
    name: 'gatehouse_extproc_egress_requests_total',
    help: 'outbound calls of policies (ServiceCallout), fire and forget too, by outcome: ok or the failure (refused, timeout, tls, connect, too-large, invalid-url)',
    labelNames: ['outcome'] as const,
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
  readonly debugCaptures = new Counter({
    name: 'gatehouse_debug_captures_total',
    help: 'transactions debug sessions kept (masked and queued for the operator; docs/operations.md#debug-sessions)',
    registers: [this.registry],
  });
  readonly debugCapturesSent = new Counter({
    name: 'gatehouse_debug_captures_sent_total',
    help: 'captured transactions the operator acknowledged',
    registers: [this.registry],
  });
  readonly debugCapturesDropped = new Counter({
    name: 'gatehouse_debug_captures_dropped_total',
    help: 'captured transactions that never reached the operator, by reason: queue_full (the operator is slow, hung or down), send_failed, mask_failed, shutdown',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly snapshotLoads = new Counter({
    name: 'gatehouse_extproc_snapshot_loads_total',
    help: 'snapshot loads by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly proxyRequests = new Counter({
    name: 'gatehouse_extproc_proxy_requests_total',
    help: 'requests (ext_proc streams) per ApiProxy (namespace/name from the snapshot; _other past --metrics-max-proxies)',
    labelNames: ['proxy'] as const,
    registers: [this.registry],
  });
  readonly proxyFaults = new Counter({
    name: 'gatehouse_extproc_proxy_faults_total',
    help: 'fault responses per ApiProxy and fault code (codes of docs/errors.md; other for any else)',
    labelNames: ['proxy', 'code'] as const,
    registers: [this.registry],
  });
  readonly proxyPhaseSeconds = new Histogram({
    name: 'gatehouse_extproc_proxy_phase_duration_seconds',
    help: 'time to answer one ProcessingRequest per ApiProxy, by phase',
    labelNames: ['proxy', 'phase'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly policySeconds = new Histogram({
    name: 'gatehouse_extproc_policy_duration_seconds',
    help: 'time one policy step took, by policy type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly labelOverflow: Gauge;

  /** Label children bound once: the per-message path then skips prom-client's label hashing. */
  private readonly phaseChildren = new Map<string, { observe(seconds: number): void }>();
  private readonly proxyPhaseChildren = new Map<string, { observe(seconds: number): void }>();
  private readonly policyChildren = new Map<string, { observe(seconds: number): void }>();
  private readonly proxyChildren = new Map<string, { inc(): void }>();
  readonly proxies: BoundedLabel;
  /** Policy types come from the snapshot (the registry's names); capped all the same. */
  private readonly policyTypes = new BoundedLabel(200);

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
    this.proxies = new BoundedLabel(options.maxProxies ?? 500);
    const labels = { proxy: this.proxies, type: this.policyTypes };
    this.labelOverflow = new Gauge({
      name: 'gatehouse_extproc_metric_label_overflow_total',
      help: 'label values counted under _other because their label reached its cap (proxy: --metrics-max-proxies)',
      labelNames: ['label'] as const,
      registers: [this.registry],
      collect() {
        for (const [label, bounded] of Object.entries(labels)) this.set({ label }, bounded.overflowed);
      },
    });
  }

  /** One request for a proxy: its label value (bounded), to pass to the other per-proxy calls. */
  proxyRequest(proxy: string): string {
    const label = this.proxies.value(proxy);
    let child = this.proxyChildren.get(label);
    if (!child) {
      child = this.proxyRequests.labels(label);
      this.proxyChildren.set(label, child);
    }
    child.inc();
    return label;
  }

  /** A fault response; `proxyLabel` is proxyRequest's value, undefined when no proxy was resolved. */
  fault(code: string, proxyLabel: string | undefined): void {
    this.faults.inc({ code: faultCodeLabel(code) });
    if (proxyLabel !== undefined) this.proxyFaults.inc({ proxy: proxyLabel, code: faultCodeLabel(code) });
  }

  observeProxyPhase(proxyLabel: string, phase: string, seconds: number): void {
    const key = `${proxyLabel}\n${phase}`;
    let child = this.proxyPhaseChildren.get(key);
    if (!child) {
      child = this.proxyPhaseSeconds.labels(proxyLabel, phase);
      this.proxyPhaseChildren.set(key, child);
    }
    child.observe(seconds);
  }

  observePolicy(type: string, outcome: StepOutcome, seconds: number): void {
    const label = this.policyTypes.value(type);
    const key = `${label}\n${outcome}`;
    let child = this.policyChildren.get(key);
    if (!child) {
      child = this.policySeconds.labels(label, outcome);
      this.policyChildren.set(key, child);
    }
    child.observe(seconds);
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
