// In-memory Stores (docs/architecture.md#stores) for dev and tests: one process, no sharing between replicas. Entries
// expire on read against an injectable clock, and every map is bounded (least recently used entries
// are evicted first) so a flood of distinct keys cannot grow the heap without limit.
import { MemoryTokenStore } from './tokens.ts';
import { consumeQuota, takeTokens, type BucketState, type QuotaState } from './quota-window.ts';
import type {
  AdmissionOp,
  AdmissionOutcome,
  CacheStore,
  CounterStore,
  KeyValueStore,
  QuotaRequest,
  QuotaResult,
  Stores,
  TokenBucketStore,
} from './types.ts';

export type Clock = () => number;

export interface MemoryStoreOptions {
  /** Milliseconds since the epoch; defaults to Date.now. */
  clock?: Clock;
  /** Most entries each store keeps before evicting the least recently used one. */
  maxEntries?: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;

interface Entry<V> {
  value: V;
  /** Absolute expiry in ms; Infinity = never. */
  expiresAt: number;
}

/**
 * A bounded map with per-entry expiry. A Map iterates in insertion order, so re-inserting on access
 * keeps the least recently used entry first: eviction is O(1).
 */
export class ExpiringLruMap<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #clock: Clock;
  readonly #maxEntries: number;

  constructor(clock: Clock, maxEntries: number) {
    this.#clock = clock;
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#clock()) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value`; `ttlMs` undefined (or Infinity) = never expires. */
  set(key: string, value: V, ttlMs?: number): void {
    const expiresAt = ttlMs === undefined ? Infinity : this.#clock() + ttlMs;
    this.setUntil(key, value, expiresAt);
  }

  setUntil(key: string, value: V, expiresAt: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Replaces the value of a live entry, keeping its expiry. */
  replace(key: string, value: V): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) entry.value = value;
  }

  deleteWhere(matches: (key: string) => boolean): void {
    for (const key of [...this.#entries.keys()]) {
      if (matches(key)) this.#entries.delete(key);
    }
  }
}

class MemoryCounterStore implements CounterStore {
  readonly #quotas: ExpiringLruMap<QuotaState>;

  constructor(clock: Clock, maxEntries: number) {
    this.#quotas = new ExpiringLruMap(clock, maxEntries);
  }

  consume(request: QuotaRequest): Promise<QuotaResult> {
    const step = consumeQuota(this.#quotas.get(request.key), request);
    this.#quotas.setUntil(request.key, step.state, step.expiresAt);
    return Promise.resolve(step.result);
  }

  reset(key: string, amount?: number): Promise<void> {
    const state = this.#quotas.get(key);
    if (state === undefined) return Promise.resolve();
    if (amount === undefined) this.#quotas.delete(key);
    else state.count = Math.max(0, state.count - amount);
    return Promise.resolve();
  }

  get(key: string): Promise<number> {
    return Promise.resolve(this.#quotas.get(key)?.count ?? 0);
  }
}

class MemoryTokenBucketStore implements TokenBucketStore {
  readonly #buckets: ExpiringLruMap<BucketState>;

  constructor(clock: Clock, maxEntries: number) {
    this.#buckets = new ExpiringLruMap(clock, maxEntries);
  }

  take(key: string, weight: number, capacity: number, refillPerMs: number, nowMs: number): Promise<boolean> {
    const step = takeTokens(this.#buckets.get(key), weight, capacity, refillPerMs, nowMs);
    this.#buckets.set(key, step.state, step.ttlMs);
    return Promise.resolve(step.allowed);
  }
}

class MemoryCacheStore implements CacheStore {
  readonly #entries: ExpiringLruMap<Buffer>;

  constructor(clock: Clock, maxEntries: number) {
    this.#entries = new ExpiringLruMap(clock, maxEntries);
  }

  get(key: string): Promise<Buffer | undefined> {
    return Promise.resolve(this.#entries.get(key));
  }

  set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    // Copy so a caller mutating its buffer later cannot change the cached entry.
    this.#entries.set(key, Buffer.from(value), ttlMs);
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.#entries.delete(key);
    return Promise.resolve();
  }

  deletePrefix(prefix: string): Promise<void> {
    this.#entries.deleteWhere((key) => key.startsWith(prefix));
    return Promise.resolve();
  }
}

class MemoryKeyValueStore implements KeyValueStore {
  readonly #entries: ExpiringLruMap<string>;

  constructor(clock: Clock, maxEntries: number) {
    this.#entries = new ExpiringLruMap(clock, maxEntries);
  }

  get(map: string, key: string): Promise<string | undefined> {
    return Promise.resolve(this.#entries.get(compositeKey(map, key)));
  }

  put(map: string, key: string, value: string, ttlMs?: number): Promise<void> {
    this.#entries.set(compositeKey(map, key), value, ttlMs);
    return Promise.resolve();
  }

  delete(map: string, key: string): Promise<void> {
    this.#entries.delete(compositeKey(map, key));
    return Promise.resolve();
  }
}

/** Length-prefixed so ("a:b", "c") and ("a", "b:c") never collide. */
function compositeKey(map: string, key: string): string {
  return `${map.length}:${map}:${key}`;
}

/** One admission op as the separate call it stands for (take or consume). */
export async function applyAdmissionOp(
  stores: Pick<Stores, 'counters' | 'buckets'>,
  op: AdmissionOp,
): Promise<AdmissionOutcome> {
  if (op.kind === 'quota') return { kind: 'quota', ...(await stores.counters.consume(op.request)) };
  const t = op.take;
  return { kind: 'bucket', admitted: await stores.buckets.take(t.key, t.weight, t.capacity, t.refillPerMs, t.nowMs) };
}

/** Stores.admit as separate calls: one op after the other, up to the first refusal. */
async function admitInOrder(
  stores: Pick<Stores, 'counters' | 'buckets'>,
  ops: readonly AdmissionOp[],
): Promise<AdmissionOutcome[]> {
  const outcomes: AdmissionOutcome[] = [];
  for (const op of ops) {
    const outcome = await applyAdmissionOp(stores, op);
    outcomes.push(outcome);
    if (!outcome.admitted) break;
  }
  return outcomes;
}

export function createMemoryStores(options: MemoryStoreOptions | Clock = {}): Stores {
  const { clock = Date.now, maxEntries = DEFAULT_MAX_ENTRIES } =
    typeof options === 'function' ? { clock: options } : options;
  const counters = new MemoryCounterStore(clock, maxEntries);
  const buckets = new MemoryTokenBucketStore(clock, maxEntries);
  return {
    counters,
    buckets,
    admit: (ops) => admitInOrder({ counters, buckets }, ops),
    cache: new MemoryCacheStore(clock, maxEntries),
    tokens: new MemoryTokenStore(clock, maxEntries),
    kvm: new MemoryKeyValueStore(clock, maxEntries),
    close: async () => {},
  };
}
