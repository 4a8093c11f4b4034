// Redis stopped under traffic, as an SRE would see it: two `gatehouse extproc --redis` processes, one
// FailClosed and one LocalFallback, keep answering within Envoy's message timeout (no request hangs
// on the dead Redis): 503 `gatehouse.StoreUnavailable` from the first, local counting at
// limit/replicas from the second. Redis restarted on its port: both serve normally again, with no
// extproc restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../env/env.ts';
import { startRedis, type RedisServer } from '../env/redis.ts';
import { compileSnapshot, get, meteredProxy, startExtproc, type ExtprocProcess } from './extproc-process.ts';

/** Envoy's message timeout in this suite: an answer after it would be a hang, not a 503. */
const MESSAGE_TIMEOUT_MS = 3_000;

describe('Redis stopped and restarted under traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-outage-'));
  let redis: RedisServer;
  let failClosed: ExtprocProcess;
  let localFallback: ExtprocProcess;

  beforeAll(async () => {
    redis = await startRedis(process.env[ENV.redisServer]!, dir);
    const snapshot = compileSnapshot(dir, meteredProxy(20));
    // One process each: with Redis, extproc would default to one worker per core of its cgroup, and
    // LocalFallback counts at allow / (replicas x workers) per worker (docs/operations.md#workers).
    const common = ['--region', 'outage', '--redis-deadline-ms', '250', '--workers', '1'];
    const env = { GATEHOUSE_REDIS_URL: redis.url };
    failClosed = await startExtproc(snapshot, [...common, '--redis-on-unavailable', 'FailClosed'], env);
    localFallback = await startExtproc(
      snapshot,
      [...common, '--redis-on-unavailable', 'LocalFallback', '--replicas', '4'],
      env,
    );
  });

  afterAll(async () => {
    await Promise.all([failClosed?.stop(), localFallback?.stop(), redis?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (ex: ExtprocProcess, tenant: string) =>
    get(ex.client, 'traffic/metered', '/metered/x', [['x-tenant', tenant]], MESSAGE_TIMEOUT_MS);

  it('answers as onUnavailable says while Redis is down, and recovers without a restart', async () => {
    expect((await send(failClosed, 'before')).response.status).toBe(200);
    expect((await send(localFallback, 'before')).response.status).toBe(200);

    await redis.stop();

    const closed = await Promise.all(Array.from({ length: 10 }, () => send(failClosed, 'down')));
    for (const r of closed) {
      expect(r.failure).toBeUndefined();
      expect(r.response.status).toBe(503);
      expect(JSON.parse(r.response.body.toString())).toMatchObject({
        fault: { detail: { errorcode: 'gatehouse.StoreUnavailable' } },
      });
    }
    // LocalFallback counts on its own at allow / replicas = 20 / 4 = 5.
    const local = [];
    for (let i = 0; i < 8; i++) local.push(await send(localFallback, 'down'));
    expect(local.every((r) => r.failure === undefined)).toBe(true);
    expect(local.map((r) => r.response.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);

    redis = await startRedis(process.env[ENV.redisServer]!, dir, redis.port);
    for (const ex of [failClosed, localFallback]) {
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await send(ex, 'after')).response.status;
        if (status !== 200) await sleep(200);
      }
      expect(status).toBe(200);
    }
  });
});
