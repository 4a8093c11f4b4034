// Redis Stores (DESIGN 8) for production: atomic Lua scripts, keys prefixed per region
// (`gh:<region>:<kind>:{<namespace-scoped key>}`; the braces are a Cluster hash tag, so every key a
// script touches is on one slot), a TTL on every counter, bucket, cache and token key. Calls are
// guarded by redis-guard.ts (deadline, circuit breaker, onUnavailable); the LocalFallback store counts
// per replica at limit/replicas.
import { once } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createMemoryStores } from './memory.ts';
import { connectRedis, type RedisMode } from './redis-connection.ts';
import { RedisGuard, type OnUnavailable } from './redis-guard.ts';
import type { ScriptCommands } from './redis-scripts.ts';
import { StoreMetrics } from './store-metrics.ts';
import type { CacheStore, CounterStore, KeyValueStore, QuotaRequest, QuotaResult, Stores, TokenBucketStore } from './types.ts';

export interface RedisStoreOptions {
  url: string;
  mode?: RedisMode;
  /** The region (DataPlane.region): keys of different regions never meet in a shared Redis. */
  region: string;
  onUnavailable?: OnUnavailable;
  /** extproc replicas sharing the limit: LocalFallback allows limit/replicas on each. */
  replicas?: number;
  /** Longest a request waits on Redis (default 75 ms). */
  deadlineMs?: number;
  /** Consecutive failures that open the circuit (default 5) and how long it stays open (default 1000 ms). */
  failureThreshold?: number;
  openMs?: number;
  /** How long createRedisStores waits for the first connection before serving degraded (default 2000 ms). */
  connectTimeoutMs?: number;
  log?: Logger;
  /** Where the gatehouse_store_* metrics go (the extproc's registry); default a registry of their own. */
  registry?: Registry;
}

export interface RedisStores extends Stores {
  readonly metrics: StoreMetrics;
  readonly guard: RedisGuard;
}

type Client = (Redis | Cluster) & ScriptCommands;

const DEFAULTS = { mode: 'Standalone', onUnavailable: 'FailClosed', replicas: 1, deadlineMs: 75, failureThreshold: 5, openMs: 1_000, connectTimeoutMs: 2_000 } as const;

/** A purge walks the keyspace: it gets more time than a per-request call. */
const PURGE_DEADLINE_MS = 2_000;

export type KeyKind = 'quota' | 'bucket' | 'cache' | 'kvm' | 'token';

/** The Redis key of a store key; `{`/`}` inside it are escaped so the hash tag is the whole key. */
export function redisKey(region: string, kind: KeyKind, key: string): string {
  return `gh:${region}:${kind}:{${escapeBraces(key)}}`;
}

function escapeBraces(key: string): string {
  return key.replace(/%/g, '%25').replace(/\{/g, '%7B').replace(/\}/g, '%7D');
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function perReplica(limit: number, replicas: number): number {
  return Math.max(1, Math.floor(limit / replicas));
}

export async function createRedisStores(options: RedisStoreOptions): Promise<RedisStores> {
  const o = { ...DEFAULTS, ...options };
  const log = o.log ?? pino({ level: 'silent' });
  const metrics = new StoreMetrics(o.registry);
  const guard = new RedisGuard({ deadlineMs: o.deadlineMs, onUnavailable: o.onUnavailable, failureThreshold: o.failureThreshold, openMs: o.openMs, metrics, log });
  const client = connectRedis({ url: o.url, mode: o.mode, connectTimeoutMs: o.connectTimeoutMs }) as Client;
  // Errors surface per call; an unhandled 'error' event would crash the process.
  client.on('error', (err: Error) => log.debug({ err: err.message }, 'Redis connection error'));
  try {
    await Promise.race([once(client, 'ready'), new Promise((_r, reject) => setTimeout(() => reject(new Error('timeout')), o.connectTimeoutMs).unref())]);
  } catch {
    log.warn({ mode: o.mode, onUnavailable: o.onUnavailable }, 'Redis is not reachable yet; serving as onUnavailable says until it is');
  }
  const local = createMemoryStores();
  // Rate-limit fallbacks expire entries by the requests' own clock (the one their windows use).
  let requestNow = Date.now();
  const localRate = createMemoryStores(() => requestNow);
  const key = (kind: KeyKind, k: string): string => redisKey(o.region, kind, k);

  const counters: CounterStore = {
    consume: (req: QuotaRequest) => guard.run<QuotaResult>('quota.consume', async () => {
      const [admitted, used, windowEndMs] = await client.ghQuotaConsume(key('quota', req.key), req.kind, req.weight, req.limit, req.windowMs, req.windowStartMs, req.nowMs);
      return { admitted: admitted === 1, used, windowEndMs };
    }, () => {
      requestNow = req.nowMs;
      return localRate.counters.consume({ ...req, limit: perReplica(req.limit, o.replicas) });
    }),
    reset: (k, amount) => guard.run('quota.reset', async () => {
      await client.ghQuotaReset(key('quota', k), amount === undefined ? '' : String(amount));
    }, () => localRate.counters.reset(k, amount)),
    get: (k) => guard.run('quota.get', async () => Number(await client.hget(key('quota', k), 'c') ?? 0), () => localRate.counters.get(k)),
  };

  const buckets: TokenBucketStore = {
    take: (k, weight, capacity, refillPerMs, nowMs) => guard.run('bucket.take', async () =>
      (await client.ghBucketTake(key('bucket', k), weight, capacity, refillPerMs, nowMs)) === 1,
    () => {
      requestNow = nowMs;
      return localRate.buckets.take(k, weight, perReplica(capacity, o.replicas), refillPerMs / o.replicas, nowMs);
    }),
  };

  const cache: CacheStore = {
    get: (k) => guard.run('cache.get', async () => (await client.getBuffer(key('cache', k))) ?? undefined, () => local.cache.get(k)),
    set: (k, value, ttlMs) => guard.run('cache.set', async () => {
      await client.set(key('cache', k), value, 'PX', Math.max(1, Math.ceil(ttlMs)));
    }, () => local.cache.set(k, value, ttlMs)),
    delete: (k) => guard.run('cache.delete', async () => {
      await client.del(key('cache', k));
    }, () => local.cache.delete(k)),
    deletePrefix: (prefix) => guard.run('cache.purge', () => purge(client, `${key('cache', prefix).slice(0, -1)}`), () => local.cache.deletePrefix(prefix), Math.max(o.deadlineMs, PURGE_DEADLINE_MS)),
  };

  const keyValue = (kind: 'kvm' | 'token', fallback: KeyValueStore): KeyValueStore => ({
    get: (map, k) => guard.run(`${kind}.get`, async () => (await client.get(key(kind, `${map.length}:${map}:${k}`))) ?? undefined, () => fallback.get(map, k)),
    put: (map, k, value, ttlMs) => guard.run(`${kind}.put`, async () => {
      const redisK = key(kind, `${map.length}:${map}:${k}`);
      // KVM entries without an expiry are configuration and persist, as in Apigee; tokens always expire.
      if (ttlMs === undefined) await client.set(redisK, value);
      else await client.set(redisK, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
    }, () => fallback.put(map, k, value, ttlMs)),
    delete: (map, k) => guard.run(`${kind}.delete`, async () => {
      await client.del(key(kind, `${map.length}:${map}:${k}`));
    }, () => fallback.delete(map, k)),
  });

  return {
    counters, buckets, cache,
    tokens: keyValue('token', local.tokens),
    kvm: keyValue('kvm', local.kvm),
    metrics, guard,
    async close() {
      await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
      client.disconnect();
    },
  };
}

/** Unlinks every key that starts with `keyPrefix` (SCAN on every master: keys spread over slots). */
async function purge(client: Client, keyPrefix: string): Promise<void> {
  const nodes = 'nodes' in client ? (client as Cluster).nodes('master') : [client as Redis];
  await Promise.all(nodes.map(async (node) => {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(keyPrefix)}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await Promise.all(keys.map((k) => node.unlink(k)));
    } while (cursor !== '0');
  }));
}
