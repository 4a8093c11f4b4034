// Every Redis call goes through here: a deadline (ours, not ioredis' commandTimeout, whose timer
// rejections escape its script retry path), the circuit breaker, metrics, and what
// `onUnavailable` says when Redis cannot answer (docs/architecture.md#stores): the local per-replica store
// (LocalFallback, with a warning log and a metric) or StoreUnavailableError (FailClosed, a 503).
import type { Logger } from 'pino';
import { GatehouseError } from '../../../lib/errors.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { StoreMetrics } from './store-metrics.ts';
import { StoreUnavailableError } from './types.ts';

export type OnUnavailable = 'LocalFallback' | 'FailClosed';

export interface GuardOptions {
  deadlineMs: number;
  onUnavailable: OnUnavailable;
  failureThreshold: number;
  openMs: number;
  metrics: StoreMetrics;
  log: Logger;
}

class DeadlineError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_REDIS_DEADLINE', message);
  }
}

/** How often the LocalFallback warning is logged at most while Redis stays down. */
const WARN_EVERY_MS = 10_000;

export class RedisGuard {
  readonly #options: GuardOptions;
  readonly #breaker: CircuitBreaker;
  #tickHasRoundTrip = false;
  #lastWarnAt = -Infinity;

  constructor(options: GuardOptions) {
    this.#options = options;
    this.#breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      openMs: options.openMs,
      onStateChange: (state) => {
        options.metrics.circuitChanged(state);
        options.log[state === 'open' ? 'warn' : 'info']({ circuit: state }, 'Redis circuit breaker changed state');
      },
    });
  }

  get circuitState(): string {
    return this.#breaker.state;
  }

  /** Runs `call` against Redis within the deadline; `fallback` answers from the local store. */
  async run<T>(
    op: string,
    call: () => Promise<T>,
    fallback: () => Promise<T>,
    deadlineMs = this.#options.deadlineMs,
  ): Promise<T> {
    const { metrics } = this.#options;
    if (!this.#breaker.allow()) {
      metrics.errors.inc({ op, reason: 'circuit_open' });
      return this.#unavailable(op, fallback, undefined);
    }
    this.#countRoundTrip();
    const started = performance.now();
    try {
      const result = await withDeadline(call(), deadlineMs);
      this.#breaker.success();
      metrics.calls.inc({ op, result: 'ok' });
      metrics.seconds.observe({ op }, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      this.#breaker.failure();
      metrics.errors.inc({ op, reason: err instanceof DeadlineError ? 'timeout' : 'redis' });
      return this.#unavailable(op, fallback, err);
    }
  }

  async #unavailable<T>(op: string, fallback: () => Promise<T>, cause: unknown): Promise<T> {
    const { metrics, log, onUnavailable } = this.#options;
    if (onUnavailable === 'FailClosed') {
      metrics.calls.inc({ op, result: 'rejected' });
      throw new StoreUnavailableError(`Redis is unavailable (${op})`, { cause });
    }
    metrics.calls.inc({ op, result: 'fallback' });
    metrics.fallbacks.inc({ op });
    const now = Date.now();
    if (now - this.#lastWarnAt >= WARN_EVERY_MS) {
      this.#lastWarnAt = now;
      log.warn(
        { op, err: cause instanceof Error ? cause.message : undefined, circuit: this.#breaker.state },
        'Redis unavailable: counting per replica at limit/replicas (LocalFallback)',
      );
    }
    return fallback();
  }

  /**
   * ioredis auto-pipelining sends the calls issued before the next setImmediate as one write: the
   * first call of a tick opens a round trip, the rest of that tick share it.
   */
  #countRoundTrip(): void {
    if (this.#tickHasRoundTrip) return;
    this.#tickHasRoundTrip = true;
    this.#options.metrics.roundTrips.inc();
    setImmediate(() => {
      this.#tickHasRoundTrip = false;
    });
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
