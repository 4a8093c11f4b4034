// The atomic Lua scripts of the Redis stores. Each but ADMIT touches one key (so it runs on one
// Cluster slot); the algorithms are Lua fragments (one copy each) mirroring the JavaScript rules of
// quota-window.ts that the memory store runs. Registered with
// ioredis defineCommand: EVALSHA, falling back to EVAL when the server lost its script cache.

/**
 * Lua fragment: quota_consume(key, kind, weight, limit, windowMs, windowStart, now) on the quota hash
 * {s: window start, c: count, p: previous window count}; returns {admitted 0|1, used, windowEnd}.
 */
const QUOTA_CONSUME_FN = `
local function quota_consume(key, kind, weight, limit, windowMs, windowStart, now)
  weight = tonumber(weight)
  limit = tonumber(limit)
  windowMs = tonumber(windowMs)
  windowStart = tonumber(windowStart)
  now = tonumber(now)
  local h = redis.call('HMGET', key, 's', 'c', 'p')
  local start, count, prev = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0
  if kind == 'flexi' then
    if start == nil or now >= start + windowMs then start = now; count = 0; prev = 0 end
  elseif start == nil then
    start = windowStart; count = 0; prev = 0
  elseif start < windowStart then
    if start == windowStart - windowMs then prev = count else prev = 0 end
    start = windowStart; count = 0
  end
  local effective = count
  if kind == 'sliding' then
    local elapsed = (now - start) / windowMs
    if elapsed < 0 then elapsed = 0 elseif elapsed > 1 then elapsed = 1 end
    effective = prev * (1 - elapsed) + count
  end
  local admitted = 0
  if effective + weight <= limit then
    admitted = 1; count = count + weight; effective = effective + weight
  end
  local windowEnd = start + windowMs
  local expiresAt = windowEnd
  if kind == 'sliding' then expiresAt = windowEnd + windowMs end
  redis.call('HSET', key, 's', start, 'c', count, 'p', prev)
  redis.call('PEXPIRE', key, math.max(1, expiresAt - now))
  return {admitted, math.ceil(effective), windowEnd}
end
`;

/** Lua fragment: bucket_take(key, weight, capacity, refillPerMs, now) on the bucket hash {t: tokens, u: last take}; returns 1 when taken. */
const BUCKET_TAKE_FN = `
local function bucket_take(key, weight, capacity, refill, now)
  weight = tonumber(weight)
  capacity = tonumber(capacity)
  refill = tonumber(refill)
  now = tonumber(now)
  local h = redis.call('HMGET', key, 't', 'u')
  local tokens, updated = tonumber(h[1]), tonumber(h[2])
  if tokens == nil then tokens = capacity; updated = now end
  local elapsed = math.max(0, now - updated)
  tokens = math.min(capacity, tokens + elapsed * refill)
  -- A refusal leaves the bucket (and its TTL) as it was.
  if tokens + 1e-9 < weight then return 0 end
  tokens = math.max(0, tokens - weight)
  redis.call('HSET', key, 't', tokens, 'u', math.max(now, updated))
  local ttl = 86400000
  if refill > 0 then ttl = math.ceil((capacity - tokens) / refill) + 1 end
  redis.call('PEXPIRE', key, ttl)
  return 1
end
`;

/** KEYS[1] quota hash; ARGV kind, weight, limit, windowMs, windowStart, now. */
export const QUOTA_CONSUME = `${QUOTA_CONSUME_FN}
return quota_consume(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
`;

/** KEYS[1] quota hash; ARGV[1] amount to take off, or "" to clear the counter. */
export const QUOTA_RESET = `
if ARGV[1] == '' then return redis.call('DEL', KEYS[1]) end
local count = tonumber(redis.call('HGET', KEYS[1], 'c'))
if count == nil then return 0 end
redis.call('HSET', KEYS[1], 'c', math.max(0, count - tonumber(ARGV[1])))
return 1
`;

/** KEYS[1] bucket hash; ARGV weight, capacity, refillPerMs, now. Returns 1 when taken. */
export const BUCKET_TAKE = `${BUCKET_TAKE_FN}
return bucket_take(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
`;

/**
 * Several admission ops in order, atomically, up to the first refusal (Stores.admit): KEYS one per op;
 * ARGV per op "b", weight, capacity, refillPerMs, now (a bucket take) or "q", kind, weight, limit,
 * windowMs, windowStart, now (a quota consume). Returns, flat, per applied op: {admitted} for a take,
 * {admitted, used, windowEnd} for a consume. The keys may lie in different Cluster slots: standalone
 * and Sentinel only.
 */
export const ADMIT = `${BUCKET_TAKE_FN}${QUOTA_CONSUME_FN}
local out = {}
local a = 1
for i = 1, #KEYS do
  local admitted
  if ARGV[a] == 'b' then
    admitted = bucket_take(KEYS[i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4])
    out[#out + 1] = admitted
    a = a + 5
  else
    local r = quota_consume(KEYS[i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6])
    admitted = r[1]
    out[#out + 1] = r[1]; out[#out + 1] = r[2]; out[#out + 1] = r[3]
    a = a + 7
  end
  if admitted == 0 then break end
end
return out
`;

export interface ScriptCommands {
  ghQuotaConsume(
    key: string,
    kind: string,
    weight: number,
    limit: number,
    windowMs: number,
    windowStart: number,
    now: number,
  ): Promise<[number, number, number]>;
  ghQuotaReset(key: string, amount: string): Promise<number>;
  ghBucketTake(key: string, weight: number, capacity: number, refillPerMs: number, now: number): Promise<number>;
  /** numKeys, the keys, then the ops' arguments (ADMIT). */
  ghAdmit(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<number[]>;
}

/** The scripts to define on a client; numberOfKeys undefined: the call passes the key count first. */
export const SCRIPTS: Record<keyof ScriptCommands, { lua: string; numberOfKeys?: number }> = {
  ghQuotaConsume: { lua: QUOTA_CONSUME, numberOfKeys: 1 },
  ghQuotaReset: { lua: QUOTA_RESET, numberOfKeys: 1 },
  ghBucketTake: { lua: BUCKET_TAKE, numberOfKeys: 1 },
  ghAdmit: { lua: ADMIT },
};
