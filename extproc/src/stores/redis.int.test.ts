// The Redis stores against a real redis-server: two store instances (as two extproc processes would
// have) share one Redis under concurrent load; Redis stopped mid-load and restarted.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV } from '../../../e2e/env/env.ts';
import { eventually } from '../../../e2e/env/eventually.ts';
import { freePort } from '../../../e2e/env/ports.ts';
import { ServiceProcess } from '../../../e2e/env/processes.ts';
import { startRedis, type RedisServer } from '../../../e2e/env/redis.ts';
import type { Proxy } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import { decodeRuntimeSnapshot } from '../config/decode.ts';
import { compileProxy, type CompiledProxy } from '../flow/compile.ts';
import { FlowRun } from '../flow/engine.ts';
import { PolicyFault } from '../flow/faults.ts';
import { policyRegistry } from '../policies/registry.ts';
import { hashedKeyPart, makePolicyContext } from '../flow/policy-context.test-support.ts';
import type { PolicyStep } from '../flow/types.ts';
import { quotaPolicy } from '../policies/traffic/quota.ts';
import { spikeArrestPolicy } from '../policies/traffic/spike-arrest.ts';
import { createRedisStores, redisKey, type RedisStoreOptions, type RedisStores } from './redis.ts';
import type { Stores } from './types.ts';

const sharedUrl = process.env[ENV.redisUrl]!;
const redisBinary = process.env[ENV.redisServer]!;
const logDir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-int-'));
const opened: RedisStores[] = [];
const servers: RedisServer[] = [];

async function stores(options: Partial<RedisStoreOptions> & { url: string }): Promise<RedisStores> {
  const s = await createRedisStores({ region: `it-${process.pid}`, deadlineMs: 100, openMs: 200, ...options });
  opened.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.stop()));
});

type Outcome = 'ok' | number;

async function run(
  step: PolicyStep,
  stores: Stores,
  now: number,
  variables: Record<string, unknown> = {},
): Promise<Outcome> {
  try {
    await step(makePolicyContext({ stores, now, variables }));
    return 'ok';
  } catch (err) {
    if (err instanceof PolicyFault) return err.status;
    throw err;
  }
}

/** `clients` concurrent clients, each sending `perClient` requests one after another, spread over the instances. */
async function load(
  step: PolicyStep,
  instances: Stores[],
  now: () => number,
  clients: number,
  perClient: number,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_c, c) => {
      for (let i = 0; i < perClient; i++) outcomes.push(await run(step, instances[c % instances.length]!, now()));
    }),
  );
  return outcomes;
}

const count = (outcomes: Outcome[], what: Outcome) => outcomes.filter((o) => o === what).length;

describe('Redis stores shared by two extproc instances', () => {
  // Counting is under test here, not deadlines: a loaded CI machine must not turn calls into 503s.
  const counting = { url: sharedUrl, deadlineMs: 5_000 };

  it('admit exactly `allow` per window under concurrent load, never more; the counters expire', async () => {
    const a = await stores(counting);
    const b = await stores(counting);
    const name = `quota-${Date.now()}`;
    const step = quotaPolicy.create({ allow: 50, interval: 1, timeUnit: 'minute' }, { namespace: 'shop', name });
    const windowStart = Date.UTC(2026, 5, 1, 10, 0);
    let now = windowStart + 1_000;
    const first = await load(step, [a, b], () => now, 40, 10);
    expect(count(first, 'ok')).toBe(50);
    expect(count(first, 429)).toBe(350);
    // Both instances admitted some: the count really is shared.
    expect((await a.metrics.calls.get()).values.find((v) => v.labels.result === 'ok')?.value).toBeGreaterThan(0);
    expect((await b.metrics.calls.get()).values.find((v) => v.labels.result === 'ok')?.value).toBeGreaterThan(0);

    const admin = new Redis(sharedUrl);
    try {
      const ttl = await admin.pttl(redisKey(`it-${process.pid}`, 'quota', `shop/${name}/${hashedKeyPart('_default')}`));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(59_000);
    } finally {
      admin.disconnect();
    }
    now = windowStart + 60_000;
    const second = await load(step, [a, b], () => now, 40, 10);
    expect({ ok: count(second, 'ok'), rejected: count(second, 429) }).toEqual({ ok: 50, rejected: 350 });
  });

  it('share a spike-arrest bucket: a burst gets exactly the rate through', async () => {
    const a = await stores(counting);
    const b = await stores(counting);
    const step = spikeArrestPolicy.create(
      { rate: '20ps', useEffectiveCount: true },
      { namespace: 'shop', name: `spike-${Date.now()}` },
    );
    const outcomes = await load(step, [a, b], () => Date.UTC(2026, 5, 1), 30, 5);
    expect(count(outcomes, 'ok')).toBe(20);
  });
});

describe('SpikeArrest + Quota merged by the flow compiler', () => {
  const counting = { url: sharedUrl, deadlineMs: 5_000 };
  const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });

  /** A proxy whose preFlow is SpikeArrest `s-{tag}` then Quota `q-{tag}`. */
  function chain(tag: string, rate: string, allow: number): { compiled: CompiledProxy; proxy: Proxy } {
    const proxy: Proxy = {
      namespace: 'shop',
      name: tag,
      route: `shop/${tag}`,
      basePath: '/',
      policies: {
        [`s-${tag}`]: policy('SpikeArrest', { rate, useEffectiveCount: true }),
        [`q-${tag}`]: policy('Quota', { allow, interval: 1, timeUnit: 'hour' }),
      },
      flows: { preFlow: { request: [{ policy: `s-${tag}` }, { policy: `q-${tag}` }] } },
    };
    return { compiled: compileProxy(decodeRuntimeSnapshot({ proxies: [proxy] }).proxies[0]!, policyRegistry), proxy };
  }

  /** One request through the flow engine: 'ok', or the fault's error code. */
  async function request(c: { compiled: CompiledProxy; proxy: Proxy }, stores: Stores, now: number): Promise<string> {
    const ctx = makePolicyContext({ stores, now, proxy: c.proxy });
    const outcome = await new FlowRun(c.compiled, ctx.exchange).runRequest();
    return outcome.action === 'continue' ? 'ok' : (outcome.errorCode ?? String(outcome.response.status));
  }

  const roundTrips = async (s: RedisStores) =>
    (await s.metrics.roundTrips.get()).values.reduce((n, v) => n + v.value, 0);
  const callsByOp = async (s: RedisStores) =>
    Object.fromEntries((await s.metrics.calls.get()).values.map((v) => [`${v.labels.op}:${v.labels.result}`, v.value]));

  it('one Redis round trip per request; admission counts as the steps one by one', async () => {
    const s = await stores(counting);
    const now = Date.UTC(2026, 5, 1, 11, 10);
    const quotaFirst = chain(`quota-refuses-${Date.now()}`, '1000ps', 5);
    expect(quotaFirst.compiled.preFlow.request.map((st) => st.type)).toEqual(['MergedAdmission']);
    const before = await roundTrips(s);
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) outcomes.push(await request(quotaFirst, s, now));
    expect(outcomes).toEqual([
      ...Array<string>(5).fill('ok'),
      ...Array<string>(3).fill('policies.ratelimit.QuotaViolation'),
    ]);
    expect((await roundTrips(s)) - before).toBe(8);
    expect(await callsByOp(s)).toEqual({ 'admit:ok': 8 });

    // SpikeArrest refuses: the quota is not counted.
    const tag = `spike-refuses-${Date.now()}`;
    const spikeFirst = chain(tag, '3pm', 100);
    for (let i = 0; i < 5; i++) outcomes.push(await request(spikeFirst, s, now));
    expect(outcomes.slice(8)).toEqual([
      'ok',
      'ok',
      'ok',
      'policies.ratelimit.SpikeArrestViolation',
      'policies.ratelimit.SpikeArrestViolation',
    ]);
    expect((await roundTrips(s)) - before).toBe(13);
    expect(await s.counters.get(`shop/q-${tag}/${hashedKeyPart('_default')}`)).toBe(3);
  });

  it('two instances under concurrent load admit exactly `allow`', async () => {
    const a = await stores(counting);
    const b = await stores(counting);
    const c = chain(`merged-load-${Date.now()}`, '100000ps', 50);
    const now = Date.UTC(2026, 5, 1, 11, 20);
    const outcomes: string[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async (_c, i) => {
        for (let j = 0; j < 10; j++) outcomes.push(await request(c, i % 2 === 0 ? a : b, now));
      }),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(50);
    expect(outcomes.filter((o) => o === 'policies.ratelimit.QuotaViolation')).toHaveLength(350);
  });

  it('a Redis that does not answer: admit() follows onUnavailable as the single calls do', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const closed = await stores({ url: dead, onUnavailable: 'FailClosed', connectTimeoutMs: 100, deadlineMs: 50 });
    const fallback = await stores({
      url: dead,
      onUnavailable: 'LocalFallback',
      replicas: 2,
      connectTimeoutMs: 100,
      deadlineMs: 50,
    });
    const c = chain(`down-${Date.now()}`, '1000ps', 8);
    const now = Date.UTC(2026, 5, 1, 11, 30);
    expect(await request(c, closed, now)).toBe('gatehouse.StoreUnavailable');
    const local: string[] = [];
    for (let i = 0; i < 6; i++) local.push(await request(c, fallback, now));
    expect(local).toEqual([
      ...Array<string>(4).fill('ok'),
      'policies.ratelimit.QuotaViolation',
      'policies.ratelimit.QuotaViolation',
    ]); // 8 / 2 replicas
    expect((await fallback.metrics.fallbacks.get()).values.find((v) => v.labels.op === 'admit')?.value).toBe(6);
  });
});

/** Starts redis-server again on the port it had, as a restarted Redis would come back. */
async function restartOnPort(port: number): Promise<ServiceProcess> {
  const proc = new ServiceProcess(
    `redis-${port}-restarted`,
    redisBinary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    logDir,
  );
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => 50,
    maxRetriesPerRequest: 0,
  });
  probe.on('error', () => {});
  await eventually('the restarted Redis to answer', () => probe.ping().then(() => true));
  probe.disconnect();
  return proc;
}

describe('Redis stopped in the middle of load', () => {
  it('FailClosed answers 503 while Redis is down, LocalFallback counts at limit/replicas; both recover after a restart', async () => {
    const server = await startRedis(redisBinary, logDir);
    servers.push(server);
    // A stopped Redis refuses at once (no offline queue), so the outage needs no short deadline; a
    // generous one keeps a slow answer on a loaded machine from counting in Redis and locally both
    // (the guard's deadline itself: redis-guard.test.ts, and the Redis that does not answer above).
    const closed = await stores({ url: server.url, onUnavailable: 'FailClosed', deadlineMs: 5_000 });
    const fallback = await stores({ url: server.url, onUnavailable: 'LocalFallback', replicas: 4, deadlineMs: 5_000 });
    const spike = spikeArrestPolicy.create(
      // `now` is fixed, so the bucket never refills: the rate is far above what 20 clients can send before
      // Redis stops, so every answer is either admitted or the store's 503, on a fast machine as on a slow one.
      { rate: '10000000ps', useEffectiveCount: true },
      { namespace: 'shop', name: 'spike-down' },
    );
    const quota = quotaPolicy.create(
      { allow: 40, interval: 1, timeUnit: 'hour' },
      { namespace: 'shop', name: 'quota-down' },
    );
    const now = Date.UTC(2026, 5, 1, 10, 30);

    // 20 clients keep sending while Redis is stopped under them. Phases follow what the clients saw
    // (answers from Redis, then 503s), never a time: a loaded machine only makes them longer.
    let running = true;
    const during: Outcome[] = [];
    const clients = Promise.all(
      Array.from({ length: 20 }, async () => {
        while (running) {
          during.push(await run(spike, closed, now));
          await sleep(1);
        }
      }),
    );
    await eventually('answers from Redis before it stops', () => count(during, 'ok') >= 20);
    await server.process.stop();
    const stoppedAt = during.length;
    await eventually('FailClosed 503s with Redis stopped', () => count(during.slice(stoppedAt), 503) >= 20);
    running = false;
    // Every call was answered while Redis was still down: none waited for it to come back.
    await clients;
    expect(count(during, 'ok')).toBeGreaterThan(0);
    expect(count(during, 503)).toBeGreaterThan(0);
    expect(count(during, 'ok') + count(during, 503)).toBe(during.length);
    expect(closed.guard.circuitState).toBe('open');

    const local = await Promise.all(Array.from({ length: 30 }, () => run(quota, fallback, now)));
    expect(count(local, 'ok')).toBe(10); // 40 / 4 replicas
    expect((await fallback.metrics.fallbacks.get()).values.reduce((n, v) => n + v.value, 0)).toBeGreaterThanOrEqual(30);

    const restarted = await restartOnPort(server.port);
    servers.push({ ...server, stop: () => restarted.stop() });
    // The same store instances resume once ioredis reconnects and the circuit's probe succeeds.
    await eventually(
      'FailClosed answering from Redis again',
      async () => (await run(spike, closed, now + 60_000)) === 'ok',
    );
    expect(closed.guard.circuitState).toBe('closed');
    let fresh: Outcome[] = [];
    await eventually('LocalFallback counting in Redis again', async () => {
      fresh = await load(quota, [fallback], () => now, 1, 1);
      return (await fallback.metrics.calls.get()).values.some(
        (v) => v.labels.op === 'quota.consume' && v.labels.result === 'ok',
      );
    });
    expect(fresh).toEqual(['ok']);
    // A fresh Redis lost the count: the full 40 (not 10 per replica) are available again.
    const after = await load(quota, [fallback], () => now, 5, 10);
    expect(count(after, 'ok')).toBe(39);
  });
});
