// Redis Stores (docs/architecture.md#stores) for production: atomic Lua scripts, keys prefixed per region
// (`gh:<region>:<kind>:{<namespace-scoped key>}`; the braces are a Cluster hash tag, so every key a
// script touches is on one slot), a TTL on every counter, bucket, cache and token key. Calls are
// guarded by redis-guard.ts (deadline, circuit breaker, onUnavailable); the LocalFallback store counts
// per replica at limit/replicas.
//
// admit() (a SpikeArrest + Quota pair merged by the flow compiler) is one round trip: in standalone
// and Sentinel mode one ADMIT script runs the ops in order, atomically. In Cluster mode the ops' keys
// lie in different slots, so no script can hold them: a bucket take and the quota consumes after it
// are sent in the same tick (auto-pipelining: one flush), and when the take is refused the consumes
// that were admitted are given back (QUOTA_RESET by their weight). Until that refund lands (the
// refused requests' second round trip), concurrent requests may see the count a little high, so
// they can be refused early, never admitted over the limit. A bucket take after a quota op waits for
// the ops before it (it cannot be given back), so quota-then-spike costs two round trips.
import { once } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createMemoryStores } from './memory.ts';
import { connectRedis, type RedisMode } from './redis-connection.ts';
import { RedisGuard, type OnUnavailable } from './redis-guard.ts';
import type { ScriptCommands } from './redis-scripts.ts';
import { StoreMetrics } from './store-metrics.ts';
import { createRedisTokenStore } from './tokens-redis.ts';
import type {
  AdmissionOp,
  AdmissionOutcome,
  BucketTake,
  CacheStore,
  CounterStore,
  KeyValueStore,
  QuotaRequest,
  QuotaResult,
  Stores,
  TokenBucketStore,
} from './types.ts';

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

const DEFAULTS = {
  mode: 'Standalone',
  onUnavailable: 'FailClosed',
  replicas: 1,
  deadlineMs: 75,
  failureThreshold: 5,
  openMs: 1_000,
  connectTimeoutMs: 2_000,
} as const;

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
  const guard = new RedisGuard({
    deadlineMs: o.deadlineMs,
    onUnavailable: o.onUnavailable,
    failureThreshold: o.failureThreshold,
    openMs: o.openMs,
    metrics,
    log,
  });
  const client = connectRedis({ url: o.url, mode: o.mode, connectTimeoutMs: o.connectTimeoutMs }) as Client;
  // Errors surface per call; an unhandled 'error' event would crash the process.
  client.on('error', (err: Error) => log.debug({ err: err.message }, 'Redis connection error'));
  try {
    await Promise.race([
      once(client, 'ready'),
      new Promise((_r, reject) => setTimeout(() => reject(new Error('timeout')), o.connectTimeoutMs).unref()),
    ]);
  } catch {
    log.warn(
      { mode: o.mode, onUnavailable: o.onUnavailable },
      'Redis is not reachable yet; serving as onUnavailable says until it is',
    );
  }
  const local = createMemoryStores();
  // Rate-limit fallbacks expire entries by the requests' own clock (the one their windows use).
  let requestNow = Date.now();
  const localRate = createMemoryStores(() => requestNow);
  const key = (kind: KeyKind, k: string): string => redisKey(o.region, kind, k);

  const takeOne = async (t: BucketTake): Promise<boolean> =>
    (await client.ghBucketTake(key('bucket', t.key), t.weight, t.capacity, t.refillPerMs, t.nowMs)) === 1;
  const consumeOne = async (req: QuotaRequest): Promise<QuotaResult> => {
    const [admitted, used, windowEndMs] = await client.ghQuotaConsume(
      key('quota', req.key),
      req.kind,
      req.weight,
      req.limit,
      req.windowMs,
      req.windowStartMs,
      req.nowMs,
    );
    return { admitted: admitted === 1, used, windowEndMs };
  };

  const counters: CounterStore = {
    consume: (req: QuotaRequest) =>
      guard.run<QuotaResult>(
        'quota.consume',
        () => consumeOne(req),
        () => {
          requestNow = req.nowMs;
          return localRate.counters.consume({ ...req, limit: perReplica(req.limit, o.replicas) });
        },
      ),
    reset: (k, amount) =>
      guard.run(
        'quota.reset',
        async () => {
          await client.ghQuotaReset(key('quota', k), amount === undefined ? '' : String(amount));
        },
        () => localRate.counters.reset(k, amount),
      ),
    get: (k) =>
      guard.run(
        'quota.get',
        async () => Number((await client.hget(key('quota', k), 'c')) ?? 0),
        () => localRate.counters.get(k),
      ),
  };

  const buckets: TokenBucketStore = {
    take: (k, weight, capacity, refillPerMs, nowMs) =>
      guard.run(
        'bucket.take',
        () => takeOne({ key: k, weight, capacity, refillPerMs, nowMs }),
        () => {
          requestNow = nowMs;
          return localRate.buckets.take(k, weight, perReplica(capacity, o.replicas), refillPerMs / o.replicas, nowMs);
        },
      ),
  };

  const applyScript = async (ops: readonly AdmissionOp[]): Promise<AdmissionOutcome[]> => {
    const keys = ops.map((op) => (op.kind === 'bucket' ? key('bucket', op.take.key) : key('quota', op.request.key)));
    const args = ops.flatMap((op) =>
      op.kind === 'bucket'
        ? ['b', op.take.weight, op.take.capacity, op.take.refillPerMs, op.take.nowMs]
        : [
            'q',
            op.request.kind,
            op.request.weight,
            op.request.limit,
            op.request.windowMs,
            op.request.windowStartMs,
            op.request.nowMs,
          ],
    );
    const flat = await client.ghAdmit(keys.length, ...keys, ...args);
    const outcomes: AdmissionOutcome[] = [];
    let at = 0;
    for (const op of ops) {
      if (at >= flat.length) break;
      if (op.kind === 'bucket') {
        outcomes.push({ kind: 'bucket', admitted: flat[at] === 1 });
        at += 1;
      } else {
        outcomes.push({ kind: 'quota', admitted: flat[at] === 1, used: flat[at + 1]!, windowEndMs: flat[at + 2]! });
        at += 3;
      }
    }
    return outcomes;
  };

  const applyOne = async (op: AdmissionOp): Promise<AdmissionOutcome> =>
    op.kind === 'quota'
      ? { kind: 'quota', ...(await consumeOne(op.request)) }
      : { kind: 'bucket', admitted: await takeOne(op.take) };

  /** Cluster: groups of one op and the quota consumes after it, each group sent in one tick. */
  const applyPipelined = async (ops: readonly AdmissionOp[]): Promise<AdmissionOutcome[]> => {
    const groups: AdmissionOp[][] = [];
    for (const op of ops) {
      if (op.kind === 'bucket' || groups.length === 0) groups.push([op]);
      else groups.at(-1)!.push(op);
    }
    const outcomes: AdmissionOutcome[] = [];
    for (const group of groups) {
      const answers = await Promise.all(group.map(applyOne));
      const refused = answers.findIndex((a) => !a.admitted);
      if (refused < 0) {
        outcomes.push(...answers);
        continue;
      }
      outcomes.push(...answers.slice(0, refused + 1));
      // Give back what the ops after the refused one counted: they must not have been applied.
      await Promise.all(
        group.slice(refused + 1).map(async (op, i) => {
          if (op.kind !== 'quota' || !answers[refused + 1 + i]!.admitted) return;
          // A refund that fails leaves the count one request high until the window ends: refused early, never over.
          await client
            .ghQuotaReset(key('quota', op.request.key), String(op.request.weight))
            .catch((err: unknown) =>
              log.warn(
                { err: err instanceof Error ? err.message : String(err) },
                'quota refund after a refused admission failed',
              ),
            );
        }),
      );
      break;
    }
    return outcomes;
  };

  /** LocalFallback: the same ops on the per-replica store, at limit/replicas. */
  const localOp = (op: AdmissionOp): AdmissionOp =>
    op.kind === 'bucket'
      ? {
          kind: 'bucket',
          take: {
            ...op.take,
            capacity: perReplica(op.take.capacity, o.replicas),
            refillPerMs: op.take.refillPerMs / o.replicas,
          },
        }
      : { kind: 'quota', request: { ...op.request, limit: perReplica(op.request.limit, o.replicas) } };

  const admit = async (ops: readonly AdmissionOp[]): Promise<AdmissionOutcome[]> =>
    ops.length === 0
      ? []
      : guard.run(
          'admit',
          () => (o.mode === 'Cluster' ? applyPipelined(ops) : applyScript(ops)),
          () => {
            requestNow = Math.max(...ops.map((op) => (op.kind === 'bucket' ? op.take.nowMs : op.request.nowMs)));
            return localRate.admit(ops.map(localOp));
          },
        );

  const cache: CacheStore = {
    get: (k) =>
      guard.run(
        'cache.get',
        async () => (await client.getBuffer(key('cache', k))) ?? undefined,
        () => local.cache.get(k),
      ),
    set: (k, value, ttlMs) =>
      guard.run(
        'cache.set',
        async () => {
          await client.set(key('cache', k), value, 'PX', Math.max(1, Math.ceil(ttlMs)));
        },
        () => local.cache.set(k, value, ttlMs),
      ),
    delete: (k) =>
      guard.run(
        'cache.delete',
        async () => {
          await client.del(key('cache', k));
        },
        () => local.cache.delete(k),
      ),
    deletePrefix: (prefix) =>
      guard.run(
        'cache.purge',
        () => purge(client, `${key('cache', prefix).slice(0, -1)}`),
        () => local.cache.deletePrefix(prefix),
        Math.max(o.deadlineMs, PURGE_DEADLINE_MS),
      ),
  };

  const keyValue = (kind: 'kvm', fallback: KeyValueStore): KeyValueStore => ({
    get: (map, k) =>
      guard.run(
        `${kind}.get`,
        async () => (await client.get(key(kind, `${map.length}:${map}:${k}`))) ?? undefined,
        () => fallback.get(map, k),
      ),
    put: (map, k, value, ttlMs) =>
      guard.run(
        `${kind}.put`,
        async () => {
          const redisK = key(kind, `${map.length}:${map}:${k}`);
          // KVM entries without an expiry are configuration and persist, as in Apigee.
          if (ttlMs === undefined) await client.set(redisK, value);
          else await client.set(redisK, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
        },
        () => fallback.put(map, k, value, ttlMs),
      ),
    delete: (map, k) =>
      guard.run(
        `${kind}.delete`,
        async () => {
          await client.del(key(kind, `${map.length}:${map}:${k}`));
        },
        () => fallback.delete(map, k),
      ),
  });

  return {
    counters,
    buckets,
    admit,
    cache,
    tokens: createRedisTokenStore({ client, guard, keyOf: (id) => key('token', id) }),
    kvm: keyValue('kvm', local.kvm),
    metrics,
    guard,
    async close() {
      await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
      client.disconnect();
    },
  };
}

/** Unlinks every key that starts with `keyPrefix` (SCAN on every master: keys spread over slots). */
async function purge(client: Client, keyPrefix: string): Promise<void> {
  const nodes = 'nodes' in client ? (client as Cluster).nodes('master') : [client as Redis];
  await Promise.all(
    nodes.map(async (node) => {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(keyPrefix)}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await Promise.all(keys.map((k) => node.unlink(k)));
      } while (cursor !== '0');
    }),
  );
}
