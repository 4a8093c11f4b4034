// `npm run bench:traffic`: VerifyAPIKey + SpikeArrest + Quota through the real ext_proc server, with
//   (a) VerifyAPIKey alone, memory stores (the reference),
//   (b) the chain on memory stores,
//   (c) the chain on a real redis-server (loopback), Quota synchronous: the flow compiler merges
//       SpikeArrest + Quota into one admission step, one ADMIT script per request,
//   (d) the chain on Redis with Quota asynchronous (synced every second),
//   (e, f) the chain called directly, without gRPC, on memory and on Redis,
// each for a bounded time. Reports streams/s, p50/p99 and, for Redis, the Redis round trips per
// request (pipeline flushes: calls issued in the same tick, from any requests, share one) and the
// Redis calls per request. Target: one round trip per request for the SpikeArrest + Quota pair.
// Requests are counted by their spike-bucket op: a bucket.take call or a merged admit call (one each).
// The Envoy side runs in a worker thread (bench/extproc-worker.ts) so it does not share our core.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ensureRedisServer, startRedis } from '../e2e/env/redis.ts';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { decodeRuntimeSnapshot } from '../extproc/src/config/decode.ts';
import { SnapshotRuntimeIndex } from '../extproc/src/config/runtime-index.ts';
import { SnapshotStore } from '../extproc/src/config/snapshot-store.ts';
import { Exchange } from '../extproc/src/flow/exchange.ts';
import { PolicyFault } from '../extproc/src/flow/faults.ts';
import { createRequestMessage } from '../extproc/src/flow/message.ts';
import { MergedStepError } from '../extproc/src/flow/admission.ts';
import { compileProxy } from '../extproc/src/flow/compile.ts';
import { policyRegistry } from '../extproc/src/policies/registry.ts';
import { createExtprocServer } from '../extproc/src/server/server.ts';
import { buildSnapshot } from '../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { createRedisStores, type RedisStores } from '../extproc/src/stores/redis.ts';
import type { Stores } from '../extproc/src/stores/types.ts';
import { percentile, runWorker } from './load-driver.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const HASH_KEY = '00112233445566778899aabbccddeeff';
const API_KEY = 'bench-key-123';

const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });

/** Limits far above what the bench sends: every request takes the admitted path, the costly one. */
function snapshot(): RuntimeSnapshot {
  const keyHash = createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(API_KEY).digest('hex');
  const verify = policy('VerifyAPIKey', { apiKey: { ref: 'request.header.x-api-key' } });
  const spike = policy('SpikeArrest', {
    rate: '100000000ps',
    identifier: { ref: 'client_id' },
    useEffectiveCount: true,
  });
  const quota = (synchronous: boolean) =>
    policy('Quota', {
      allow: 1_000_000_000,
      interval: 1,
      timeUnit: 'minute',
      identifier: { ref: 'client_id' },
      distributed: true,
      synchronous,
      asynchronousConfiguration: { syncIntervalInSeconds: 1 },
    });
  const proxy = (name: string, steps: string[], synchronous = true) => ({
    namespace: 'bench',
    name,
    route: `bench/${name}`,
    basePath: `/${name}`,
    policies: { 'verify-key': verify, spike, quota: quota(synchronous) },
    flows: { preFlow: { request: steps.map((p) => ({ policy: p })) } },
  });
  return {
    version: 'bench-traffic',
    credentialHashKey: HASH_KEY,
    products: [
      { namespace: 'bench', name: 'basic', proxies: ['key', 'chain', 'async'], resources: ['/**'], approval: 'Auto' },
    ],
    apps: [
      {
        namespace: 'bench',
        name: 'app',
        status: 'Approved',
        products: [{ name: 'basic', status: 'Approved' }],
        credentials: [{ keyHash, status: 'Approved' }],
      },
    ],
    proxies: [
      proxy('key', ['verify-key']),
      proxy('chain', ['verify-key', 'spike', 'quota']),
      proxy('async', ['verify-key', 'spike', 'quota'], false),
    ],
  };
}

async function metricTotal(stores: RedisStores, name: 'roundTrips' | 'calls', op?: string): Promise<number> {
  const values = (await stores.metrics[name].get()).values;
  return values.filter((v) => op === undefined || v.labels.op === op).reduce((n, v) => n + v.value, 0);
}

interface RedisCounts {
  trips: number;
  calls: number;
  spikes: number;
}

async function redisCounts(stores: Stores): Promise<RedisCounts | undefined> {
  if (!('metrics' in stores)) return undefined;
  const redis = stores as RedisStores;
  const spikes = (await metricTotal(redis, 'calls', 'bucket.take')) + (await metricTotal(redis, 'calls', 'admit'));
  return { trips: await metricTotal(redis, 'roundTrips'), calls: await metricTotal(redis, 'calls'), spikes };
}

/** Per request: every request (warm-up included) takes exactly one token from the spike bucket. */
async function perRequest(stores: Stores, before: RedisCounts | undefined): Promise<Row['redis']> {
  const after = await redisCounts(stores);
  if (!before || !after) return undefined;
  const requests = after.spikes - before.spikes;
  return { roundTrips: (after.trips - before.trips) / requests, calls: (after.calls - before.calls) / requests };
}

interface Row {
  name: string;
  rate: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  redis?: { roundTrips: number; calls: number };
}

async function measure(name: string, route: string, stores: Stores): Promise<Row> {
  const snapshots = new SnapshotStore();
  snapshots.apply(buildSnapshot(snapshot()));
  const server = createExtprocServer({ snapshots, stores, log: pino({ level: 'silent' }) });
  const port = await server.listen('127.0.0.1', 0);
  const before = await redisCounts(stores);
  const r = await runWorker({
    address: `127.0.0.1:${port}`,
    route,
    concurrency: CONCURRENCY,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    request: { method: 'GET', path: `/${route.split('/')[1]}/orders`, headers: [['x-api-key', API_KEY]], body: '' },
  });
  await server.shutdown(1000);
  const sorted = r.latenciesMs.sort((a, b) => a - b);
  return {
    name,
    rate: r.completed / (DURATION_MS / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    statuses: r.statuses,
    redis: await perRequest(stores, before),
  };
}

/**
 * The same chain called directly (no gRPC, no Envoy driver), compiled as the extproc compiles it
 * (SpikeArrest + Quota merged): what the policies and their store calls cost per request, without
 * the transport's share.
 */
async function measureDirect(name: string, stores: Stores): Promise<Row> {
  const snap = decodeRuntimeSnapshot(snapshot());
  const runtime = new SnapshotRuntimeIndex(snap);
  const proxy = snap.proxies.find((p) => p.name === 'chain')!;
  const steps = compileProxy(proxy, policyRegistry).preFlow.request.map((step) => step.run);
  const log = pino({ level: 'silent' });
  const statuses: Record<string, number> = {};
  const one = async (record: boolean): Promise<void> => {
    const request = createRequestMessage({
      method: 'GET',
      path: '/chain/orders',
      scheme: 'http',
      authority: 'bench.test',
      headers: { 'x-api-key': API_KEY },
    });
    const exchange = new Exchange({
      request,
      proxy,
      runtime,
      stores,
      log,
      now: Date.now,
      environmentName: 'bench',
      messageId: 'bench',
      client: { ip: '198.51.100.7', cn: '' },
    });
    let status = 200;
    try {
      for (const step of steps) await step(exchange.context('request'));
    } catch (caught) {
      const err = caught instanceof MergedStepError ? caught.cause : caught;
      if (!(err instanceof PolicyFault)) throw err;
      status = err.status;
    }
    if (record) statuses[status] = (statuses[status] ?? 0) + 1;
  };
  const latencies: number[] = [];
  const loop = async (until: number, record: boolean): Promise<void> => {
    while (performance.now() < until) {
      const started = performance.now();
      await one(record);
      if (record) latencies.push(performance.now() - started);
    }
  };
  const before = await redisCounts(stores);
  const warm = performance.now() + WARMUP_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(warm, false)));
  const end = performance.now() + DURATION_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(end, true)));
  const sorted = latencies.sort((a, b) => a - b);
  return {
    name,
    rate: latencies.length / (DURATION_MS / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    statuses,
    redis: await perRequest(stores, before),
  };
}

const logDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-traffic-'));
const redisServer = await startRedis(ensureRedisServer(), logDir);
// A deadline above this machine's saturated tail: the bench measures throughput, not fail-closed answers
// (any 503 still shows in the statuses column).
const redisStores = await createRedisStores({
  url: redisServer.url,
  region: 'bench',
  deadlineMs: Number(process.env.BENCH_REDIS_DEADLINE_MS ?? 250),
  onUnavailable: 'FailClosed',
});
const memory = createMemoryStores();

process.stdout.write(
  `traffic bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} streams in flight, ` +
    `driver in a worker thread, ${availableParallelism()} cores, redis-server on loopback\n\n`,
);
const rows: Row[] = [
  await measure('(a) VerifyAPIKey, memory', 'bench/key', memory),
  await measure('(b) +SpikeArrest+Quota, memory', 'bench/chain', memory),
  await measure('(c) +SpikeArrest+Quota, Redis sync', 'bench/chain', redisStores),
  await measure('(d) +SpikeArrest+Quota, Redis async', 'bench/async', redisStores),
  await measureDirect('(e) chain called directly, memory', memory),
  await measureDirect('(f) chain called directly, Redis sync', redisStores),
];

process.stdout.write(
  `${'case'.padEnd(38)} ${'streams/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'RTT/req'.padStart(8)} ${'calls/req'.padStart(10)}  statuses\n`,
);
for (const row of rows) {
  const rtt = row.redis ? row.redis.roundTrips.toFixed(3) : '-';
  const calls = row.redis ? row.redis.calls.toFixed(3) : '-';
  process.stdout.write(
    `${row.name.padEnd(38)} ${row.rate.toFixed(0).padStart(10)} ${row.p50.toFixed(2).padStart(8)} ${row.p99.toFixed(2).padStart(8)} ${rtt.padStart(8)} ${calls.padStart(10)}  ${JSON.stringify(row.statuses)}\n`,
  );
}
const sync = rows[2]!.redis!;
process.stdout.write(
  `\nRedis round trips per request for the SpikeArrest + Quota pair (sync): ${sync.roundTrips.toFixed(3)} ` +
    `(target <= 1: ${sync.roundTrips <= 1 ? 'ok' : 'MISS'}); Redis calls per request ${sync.calls.toFixed(3)} ` +
    `(${sync.calls <= 1 ? 'the pair is merged into one ADMIT script' : 'MISS: the pair is not merged into one call'}).\n`,
);

await redisStores.close();
await memory.close();
await redisServer.stop();
rmSync(logDir, { recursive: true, force: true });
