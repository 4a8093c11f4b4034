// Prometheus metrics of the ext_proc server, in a registry of its own (one per server, so tests can
// run several). Names follow gatehouse_extproc_*.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { errorCodes } from '../../../lib/error-codes.ts';
import type { StepOutcome } from '../flow/exchange.ts';
import { BoundedLabel } from './bounded-label.ts';

/** Fault codes a label may carry: the catalogue's (lib/error-codes.ts); any other is `other`. */
const knownFaultCodes = new Set(errorCodes.filter((e) => e.family === 'fault').map((e) => e.code));
const faultCodeLabel = (code: string) => (knownFaultCodes.has(code) ? code : 'other');

/**
 * One series (label set) of a prom-client metric, updated in place: prom-client's own inc/observe
 * validates and hashes the labels on every call (and a histogram's bucket is found by a number used as
 * a property name), which the profile showed on every message (docs/architecture.md#the-hot-path).
 * The series is created, validated and hashed by prom-client itself on its first update; later ones
 * add to the very entry prom-client exports, so /metrics (names, labels, buckets, values, the
 * per-worker aggregation) reads exactly as before. A reset or removed series is created again the
 * same way.
 */
interface PromEntry {
  labels: Record<string, string | number>;
  value: number;
  sum: number;
  count: number;
  bucketValues: Record<string, number>;
}
interface PromMetric {
  hashMap: Record<string, PromEntry | undefined>;
}

class Series {
  private readonly metric: PromMetric;
  protected readonly labels: Record<string, string>;
  private hash: string | undefined;

  constructor(metric: object, labels: Record<string, string>) {
    this.metric = metric as PromMetric;
    this.labels = labels;
  }

  /** The series' entry, or undefined when prom-client has none (yet, or since a reset). */
  protected entry(): PromEntry | undefined {
    return this.hash === undefined ? undefined : this.metric.hashMap[this.hash];
  }

  /** After prom-client created the series: remember its key (found by its labels, once per series). */
  protected bind(): void {
    const names = Object.keys(this.labels);
    for (const [hash, entry] of Object.entries(this.metric.hashMap)) {
      const labels = entry?.labels;
      if (labels && Object.keys(labels).length === names.length && names.every((n) => labels[n] === this.labels[n])) {
        this.hash = hash;
        return;
      }
    }
  }
}

/** A counter's or a gauge's series (inc and dec by one). */
export class CounterSeries extends Series {
  private readonly counter: { inc(labels: Record<string, string>, v?: number): void };
  constructor(counter: Counter<string> | Gauge<string>, labels: Record<string, string> = {}) {
    super(counter, labels);
    this.counter = counter;
  }
  inc(): void {
    const entry = this.entry();
    if (entry !== undefined) entry.value += 1;
    else {
      this.counter.inc(this.labels, 1);
      this.bind();
    }
  }
  /** Gauges only. */
  dec(): void {
    const entry = this.entry();
    if (entry !== undefined) entry.value -= 1;
    else {
      this.counter.inc(this.labels, -1);
      this.bind();
    }
  }
}

/** A histogram's series. */
export class HistogramSeries extends Series {
  private readonly histogram: Histogram<string>;
  private readonly bounds: readonly number[];
  /** The bucket entries' property names, as prom-client keys them (the bound as a string). */
  private readonly keys: readonly string[];
  constructor(histogram: Histogram<string>, labels: Record<string, string>) {
    super(histogram, labels);
    this.histogram = histogram;
    this.bounds = (histogram as unknown as { upperBounds: number[] }).upperBounds;
    this.keys = this.bounds.map(String);
  }
  observe(seconds: number): void {
    const entry = this.entry();
    if (entry === undefined || !Number.isFinite(seconds)) {
      this.histogram.observe(this.labels, seconds); // creates the series (or throws, as prom-client does)
      this.bind();
      return;
    }
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        entry.bucketValues[this.keys[i]!]! += 1;
        break;
      }
    }
    entry.sum += seconds;
    entry.count += 1;
  }
}

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
  readonly messageLogDropped = new Counter({
    name: 'gatehouse_messagelogging_dropped_total',
    help: 'MessageLogging messages dropped, by reason: queue-full (the target is slower than the traffic), refused (the DataPlane does not allow the address), failed (retries used up), shutdown (not flushed by the deadline), evicted (its sender closed to make room for another target)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly messageLogSent = new Counter({
    name: 'gatehouse_messagelogging_sent_total',
    help: 'MessageLogging messages handed to their target (written to the socket, datagram sent, HTTP 2xx)',
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

  /** Series bound once each (Series): the per-message path then skips prom-client's label work. */
  private readonly phaseSeries = new Map<string, HistogramSeries>();
  private readonly proxyPhaseSeries = new Map<string, Map<string, HistogramSeries>>();
  private readonly policySeries = new Map<string, Map<string, HistogramSeries>>();
  private readonly proxySeries = new Map<string, CounterSeries>();
  private readonly outcomeSeries = new Map<string, CounterSeries>();
  private readonly activeSeries = new CounterSeries(this.activeStreams);
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
    let series = this.proxySeries.get(label);
    if (!series) {
      series = new CounterSeries(this.proxyRequests, { proxy: label });
      this.proxySeries.set(label, series);
    }
    series.inc();
    return label;
  }

  /** A fault response; `proxyLabel` is proxyRequest's value, undefined when no proxy was resolved. */
  fault(code: string, proxyLabel: string | undefined): void {
    this.faults.inc({ code: faultCodeLabel(code) });
    if (proxyLabel !== undefined) this.proxyFaults.inc({ proxy: proxyLabel, code: faultCodeLabel(code) });
  }

  observeProxyPhase(proxyLabel: string, phase: string, seconds: number): void {
    let phases = this.proxyPhaseSeries.get(proxyLabel);
    if (!phases) {
      phases = new Map();
      this.proxyPhaseSeries.set(proxyLabel, phases);
    }
    let series = phases.get(phase);
    if (!series) {
      series = new HistogramSeries(this.proxyPhaseSeconds, { proxy: proxyLabel, phase });
      phases.set(phase, series);
    }
    series.observe(seconds);
  }

  observePolicy(type: string, outcome: StepOutcome, seconds: number): void {
    const label = this.policyTypes.value(type);
    let outcomes = this.policySeries.get(label);
    if (!outcomes) {
      outcomes = new Map();
      this.policySeries.set(label, outcomes);
    }
    let series = outcomes.get(outcome);
    if (!series) {
      series = new HistogramSeries(this.policySeconds, { type: label, outcome });
      outcomes.set(outcome, series);
    }
    series.observe(seconds);
  }

  /** A stream opened (gatehouse_extproc_active_streams). */
  streamOpened(): void {
    this.activeSeries.inc();
  }

  /** A stream ended, by how (gatehouse_extproc_streams_total, gatehouse_extproc_active_streams). */
  streamEnded(outcome: StreamOutcome): void {
    let series = this.outcomeSeries.get(outcome);
    if (!series) {
      series = new CounterSeries(this.streams, { outcome });
      this.outcomeSeries.set(outcome, series);
    }
    series.inc();
    this.activeSeries.dec();
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
    let series = this.phaseSeries.get(phase);
    if (!series) {
      series = new HistogramSeries(this.phaseSeconds, { phase });
      this.phaseSeries.set(phase, series);
    }
    series.observe(seconds);
  }

  snapshotApplied(version: string): void {
    this.snapshotInfo.reset();
    this.snapshotInfo.set({ version }, 1);
    this.snapshotLoads.inc({ result: 'applied' });
  }
}
