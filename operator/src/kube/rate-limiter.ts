// Rate limiters of client-go's workqueue package, same semantics: per-key exponential failure backoff,
// a global token bucket (golang.org/x/time/rate's Reserve().Delay()), and the max of several.

export interface RateLimiter<K> {
  /** How long to wait before the key may be processed again (ms); counts as one more requeue. */
  when(key: K): number;
  /** Stops tracking the key (it succeeded): its backoff starts over. */
  forget(key: K): void;
  numRequeues(key: K): number;
}

/** baseMs * 2^failures per key, capped at maxMs: 5 ms, 10 ms, 20 ms, ... 1000 s. */
export class ItemExponentialFailureRateLimiter<K> implements RateLimiter<K> {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly failures = new Map<K, number>();

  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  when(key: K): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    const backoff = this.baseMs * 2 ** exp;
    return Number.isFinite(backoff) && backoff < this.maxMs ? backoff : this.maxMs;
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * A token bucket shared by all keys: `burst` tokens, refilled at `qps` per second. when() reserves a
 * token and returns how long until it is available (0 while the bucket has tokens); reservations
 * queue up, so each further one waits 1/qps longer.
 */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  private readonly qps: number;
  private readonly burst: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  constructor(qps = 10, burst = 100, now: () => number = () => performance.now()) {
    this.qps = qps;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  when(_key: K): number {
    const now = this.now();
    // A clock that went backwards refills nothing (as x/time/rate).
    const elapsedMs = Math.max(0, now - this.last);
    this.last = Math.max(this.last, now);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.qps) / 1000);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  forget(_key: K): void {}

  numRequeues(_key: K): number {
    return 0;
  }
}

/** The longest delay of its limiters; forget() forgets in all; numRequeues() is the highest. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  private readonly limiters: RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }

  when(key: K): number {
    let max = 0;
    for (const limiter of this.limiters) max = Math.max(max, limiter.when(key));
    return max;
  }

  forget(key: K): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  numRequeues(key: K): number {
    let max = 0;
    for (const limiter of this.limiters) max = Math.max(max, limiter.numRequeues(key));
    return max;
  }
}

/** client-go's DefaultControllerRateLimiter: per-key 5 ms .. 1000 s, overall 10 qps with a burst of 100. */
export function defaultControllerRateLimiter<K>(
  options: { qps?: number; burst?: number; baseMs?: number; maxMs?: number } = {},
): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialFailureRateLimiter<K>(options.baseMs ?? 5, options.maxMs ?? 1_000_000),
    new BucketRateLimiter<K>(options.qps ?? 10, options.burst ?? 100),
  );
}
