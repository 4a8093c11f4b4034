// Prometheus metrics of the Redis stores (gatehouse_store_*), in a registry the caller passes (the
// extproc's) or one of their own, so tests can create several store instances.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CircuitState } from './circuit-breaker.ts';

const CIRCUIT_VALUES: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

export class StoreMetrics {
  readonly registry: Registry;
  readonly calls: Counter<'op' | 'result'>;
  readonly errors: Counter<'op' | 'reason'>;
  readonly seconds: Histogram<'op'>;
  readonly fallbacks: Counter<'op'>;
  /** Pipeline flushes to Redis: several calls issued in the same tick share one (auto-pipelining). */
  readonly roundTrips: Counter;
  readonly circuit: Gauge;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.calls = new Counter({
      name: 'gatehouse_store_calls_total',
      help: 'store calls by operation and result (ok, error, fallback, rejected)',
      labelNames: ['op', 'result'] as const,
      registers,
    });
    this.errors = new Counter({
      name: 'gatehouse_store_errors_total',
      help: 'failed Redis calls by reason (timeout, circuit_open, redis)',
      labelNames: ['op', 'reason'] as const,
      registers,
    });
    this.seconds = new Histogram({
      name: 'gatehouse_store_call_duration_seconds',
      help: 'Redis call latency, by operation',
      labelNames: ['op'] as const,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'gatehouse_store_fallbacks_total',
      help: 'calls answered by the local per-replica store because Redis was unavailable',
      labelNames: ['op'] as const,
      registers,
    });
    this.roundTrips = new Counter({
      name: 'gatehouse_store_round_trips_total',
      help: 'pipelined round trips to Redis',
      registers,
    });
    this.circuit = new Gauge({
      name: 'gatehouse_store_circuit_state',
      help: 'Redis circuit breaker: 0 closed, 1 half-open, 2 open',
      registers,
    });
  }

  circuitChanged(state: CircuitState): void {
    this.circuit.set(CIRCUIT_VALUES[state]);
  }
}
