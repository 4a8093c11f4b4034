// The quota counting rule, shared by the memory store and mirrored by the Redis Lua script
// (redis-scripts.ts), so both count alike. One state per (quota, identifier): the current window's
// start and count and, for sliding windows, the previous window's count.
import type { QuotaRequest, QuotaResult } from './types.ts';

export interface QuotaState {
  start: number;
  count: number;
  previous: number;
}

export interface QuotaStep {
  state: QuotaState;
  result: QuotaResult;
  /** When the state may be forgotten (ms since the epoch). */
  expiresAt: number;
}

function currentWindow(state: QuotaState | undefined, req: QuotaRequest): QuotaState {
  if (req.kind === 'flexi') {
    return state === undefined || req.nowMs >= state.start + req.windowMs
      ? { start: req.nowMs, count: 0, previous: 0 }
      : state;
  }
  // A state from a later window (this replica's clock is behind) is kept rather than reset.
  if (state === undefined) return { start: req.windowStartMs, count: 0, previous: 0 };
  if (state.start >= req.windowStartMs) return state;
  const previous = state.start === req.windowStartMs - req.windowMs ? state.count : 0;
  return { start: req.windowStartMs, count: 0, previous };
}

/** The count a request is judged against: for sliding windows the overlap of the previous one counts. */
function effectiveCount(state: QuotaState, req: QuotaRequest): number {
  if (req.kind !== 'sliding') return state.count;
  const elapsed = Math.min(1, Math.max(0, (req.nowMs - state.start) / req.windowMs));
  return state.previous * (1 - elapsed) + state.count;
}

export function consumeQuota(stored: QuotaState | undefined, req: QuotaRequest): QuotaStep {
  const state = { ...currentWindow(stored, req) };
  const before = effectiveCount(state, req);
  const admitted = before + req.weight <= req.limit;
  if (admitted) state.count += req.weight;
  const windowEndMs = state.start + req.windowMs;
  return {
    state,
    result: { admitted, used: Math.ceil(before + (admitted ? req.weight : 0)), windowEndMs },
    // A sliding window's count still weighs on the next window.
    expiresAt: req.kind === 'sliding' ? windowEndMs + req.windowMs : windowEndMs,
  };
}

export interface BucketState {
  tokens: number;
  updatedAt: number;
}

export interface BucketStep {
  state: BucketState;
  allowed: boolean;
  /** Milliseconds until the bucket would be full again: after that it carries no state. */
  ttlMs: number;
}

/** Refill arithmetic in floating point must not refuse a token that is due. */
const EPSILON = 1e-9;

export function takeTokens(
  stored: BucketState | undefined,
  weight: number,
  capacity: number,
  refillPerMs: number,
  nowMs: number,
): BucketStep {
  const bucket = stored ?? { tokens: capacity, updatedAt: nowMs };
  const elapsed = Math.max(0, nowMs - bucket.updatedAt);
  const tokens = Math.min(capacity, bucket.tokens + elapsed * refillPerMs);
  const allowed = tokens + EPSILON >= weight;
  // A refusal leaves the bucket as it was: refill keeps being computed from the last take, exactly.
  const state = allowed
    ? { tokens: Math.max(0, tokens - weight), updatedAt: Math.max(nowMs, bucket.updatedAt) }
    : bucket;
  const remaining = allowed ? state.tokens : tokens;
  const ttlMs = refillPerMs > 0 ? Math.ceil((capacity - remaining) / refillPerMs) + 1 : 86_400_000;
  return { state, allowed, ttlMs };
}
