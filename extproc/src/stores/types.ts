// The state stores of docs/architecture.md#stores, one interface per kind of state. Two implementations each: memory
// (dev, tests; memory.ts) and Redis (redis.ts). Every method has a deadline in the Redis
// implementation; callers never wait on a dead store longer than that.
import { GatehouseError } from '../../../lib/errors.ts';
import type { TokenStore } from './tokens.ts';

/**
 * How a quota counter's window moves (docs/policies.md, Apigee's Quota types):
 * - `fixed` (calendar): windows of `windowMs` aligned to `anchorMs` (the startTime).
 * - `sliding` (rollingwindow): the previous window's count, weighted by how much of it still lies in
 *   the last `windowMs`, plus the current window's.
 * - `flexi`: the window starts with the identifier's first request.
 */
export type WindowKind = 'fixed' | 'sliding' | 'flexi';

export interface QuotaRequest {
  key: string;
  kind: WindowKind;
  weight: number;
  limit: number;
  windowMs: number;
  /** Start of the fixed window containing `nowMs` (fixed, sliding); ignored for flexi. */
  windowStartMs: number;
  nowMs: number;
}

export interface QuotaResult {
  admitted: boolean;
  /** The count after this request (rejected requests are not counted). */
  used: number;
  /** When the current window ends (ms since the epoch). */
  windowEndMs: number;
}

export interface CounterStore {
  /** Counts `weight` against `limit` atomically; a request over the limit is rejected and not counted. */
  consume(request: QuotaRequest): Promise<QuotaResult>;
  /** Takes `amount` off the current count (floor 0); undefined clears it (ResetQuota). */
  reset(key: string, amount?: number): Promise<void>;
  /** The current window's count, or 0. */
  get(key: string): Promise<number>;
}

export interface TokenBucketStore {
  /**
   * Takes `weight` tokens from the bucket `key` (capacity, refilled at `refillPerMs`); returns whether
   * they were available.
   */
  take(key: string, weight: number, capacity: number, refillPerMs: number, nowMs: number): Promise<boolean>;
}

/** One token-bucket take, as TokenBucketStore.take's arguments. */
export interface BucketTake {
  key: string;
  weight: number;
  capacity: number;
  refillPerMs: number;
  nowMs: number;
}

/**
 * One admission check of a request (a SpikeArrest bucket take or a Quota consume), so that several
 * can go to the store together (Stores.admit).
 */
export type AdmissionOp = { kind: 'bucket'; take: BucketTake } | { kind: 'quota'; request: QuotaRequest };

/** The store's answer to one AdmissionOp, by kind. */
export type AdmissionOutcome = { kind: 'bucket'; admitted: boolean } | ({ kind: 'quota' } & QuotaResult);

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
  /** OAuth access and refresh tokens and authorization codes (tokens.ts). */
  tokens: TokenStore;
  kvm: KeyValueStore;
  /**
   * Applies `ops` in order, as the separate take/consume calls would, and stops at the first
   * refusal: the answers of the ops up to and including the refused one; later ops are not applied
   * (ops before it stay applied). The Redis store does it in one round trip (redis.ts).
   */
  admit(ops: readonly AdmissionOp[]): Promise<AdmissionOutcome[]>;
  close(): Promise<void>;
}

/**
 * The shared store cannot answer within its deadline (Redis down, circuit open) and `onUnavailable`
 * is FailClosed. Policies turn it into a 503 fault (`gatehouse.StoreUnavailable`).
 */
export class StoreUnavailableError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_STORE_UNAVAILABLE', message, options);
  }
}
