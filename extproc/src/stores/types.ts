// The state stores of DESIGN 8, one interface per kind of state. Two implementations each: memory
// (dev, tests; this folder's memory.ts) and Redis (the traffic issue). Every method has a deadline in
// the Redis implementation; callers never wait on a dead store longer than that.

export interface CounterStore {
  /**
   * Adds `weight` to the counter `key` in the window that ends at `windowEndMs` and returns the new
   * total. The counter expires at the window's end.
   */
  increment(key: string, weight: number, windowEndMs: number): Promise<number>;
  get(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

export interface TokenBucketStore {
  /**
   * Takes `weight` tokens from the bucket `key` (capacity, refilled at `refillPerMs`); returns whether
   * they were available.
   */
  take(key: string, weight: number, capacity: number, refillPerMs: number, nowMs: number): Promise<boolean>;
}

export interface CacheStore {
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Deletes every entry whose key starts with `prefix` (purge of child entries). */
  deletePrefix(prefix: string): Promise<void>;
}

export interface KeyValueStore {
  get(map: string, key: string): Promise<string | undefined>;
  put(map: string, key: string, value: string, ttlMs?: number): Promise<void>;
  delete(map: string, key: string): Promise<void>;
}

export interface Stores {
  counters: CounterStore;
  buckets: TokenBucketStore;
  cache: CacheStore;
  /** OAuth tokens and codes share the key/value shape. */
  tokens: KeyValueStore;
  kvm: KeyValueStore;
  close(): Promise<void>;
}
