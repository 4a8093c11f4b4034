// The atomic Lua scripts of the Redis stores. Each touches one key (so it runs on one Cluster slot)
// and mirrors the JavaScript rule of quota-window.ts that the memory store runs. Registered with
// ioredis defineCommand: EVALSHA, falling back to EVAL when the server lost its script cache.

/** KEYS[1] quota hash {s: window start, c: count, p: previous window count}; ARGV kind, weight, limit, windowMs, windowStart, now. */
export const QUOTA_CONSUME = `
local kind = ARGV[1]
local weight = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local windowMs = tonumber(ARGV[4])
local windowStart = tonumber(ARGV[5])
local now = tonumber(ARGV[6])
local h = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
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
redis.call('HSET', KEYS[1], 's', start, 'c', count, 'p', prev)
redis.call('PEXPIRE', KEYS[1], math.max(1, expiresAt - now))
return {admitted, math.ceil(effective), windowEnd}
`;

/** KEYS[1] quota hash; ARGV[1] amount to take off, or "" to clear the counter. */
export const QUOTA_RESET = `
if ARGV[1] == '' then return redis.call('DEL', KEYS[1]) end
local count = tonumber(redis.call('HGET', KEYS[1], 'c'))
if count == nil then return 0 end
redis.call('HSET', KEYS[1], 'c', math.max(0, count - tonumber(ARGV[1])))
return 1
`;

/** KEYS[1] bucket hash {t: tokens, u: last take}; ARGV weight, capacity, refillPerMs, now. Returns 1 when taken. */
export const BUCKET_TAKE = `
local weight = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local refill = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens, updated = tonumber(h[1]), tonumber(h[2])
if tokens == nil then tokens = capacity; updated = now end
local elapsed = math.max(0, now - updated)
tokens = math.min(capacity, tokens + elapsed * refill)
-- A refusal leaves the bucket (and its TTL) as it was.
if tokens + 1e-9 < weight then return 0 end
tokens = math.max(0, tokens - weight)
redis.call('HSET', KEYS[1], 't', tokens, 'u', math.max(now, updated))
local ttl = 86400000
if refill > 0 then ttl = math.ceil((capacity - tokens) / refill) + 1 end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

export interface ScriptCommands {
  ghQuotaConsume(key: string, kind: string, weight: number, limit: number, windowMs: number, windowStart: number, now: number): Promise<[number, number, number]>;
  ghQuotaReset(key: string, amount: string): Promise<number>;
  ghBucketTake(key: string, weight: number, capacity: number, refillPerMs: number, now: number): Promise<number>;
}

export const SCRIPTS: Record<keyof ScriptCommands, string> = {
  ghQuotaConsume: QUOTA_CONSUME,
  ghQuotaReset: QUOTA_RESET,
  ghBucketTake: BUCKET_TAKE,
};
