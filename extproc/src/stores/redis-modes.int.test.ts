// The Redis stores in Sentinel and Cluster modes, against real redis-server processes: a master
// behind a Sentinel, and a three-master Cluster (keys, scripts and purges spread over slots).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV } from '../../../e2e/env/env.ts';
import { eventually } from '../../../e2e/env/eventually.ts';
import { freePort } from '../../../e2e/env/ports.ts';
import { ServiceProcess } from '../../../e2e/env/processes.ts';
import { startRedis } from '../../../e2e/env/redis.ts';
import { createRedisStores, type RedisStoreOptions, type RedisStores } from './redis.ts';
import type { AdmissionOp, Stores } from './types.ts';

const redisBinary = process.env[ENV.redisServer]!;
const logDir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-modes-'));
const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function open(options: Omit<RedisStoreOptions, 'region'>): Promise<RedisStores> {
  const stores = await createRedisStores({ region: 'modes', deadlineMs: 2_000, connectTimeoutMs: 10_000, ...options });
  cleanups.push(() => stores.close());
  return stores;
}

function serve(name: string, args: string[]): ServiceProcess {
  const proc = new ServiceProcess(name, redisBinary, args, logDir);
  cleanups.push(() => proc.stop());
  return proc;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  await eventually(what, check, 60_000);
}

/** Quota, bucket, cache and purge round trips that every mode must get right. */
async function exercise(stores: Stores): Promise<void> {
  const now = Date.UTC(2026, 5, 1, 12);
  const quota = (key: string) =>
    stores.counters.consume({
      key,
      kind: 'fixed',
      weight: 1,
      limit: 2,
      windowMs: 60_000,
      windowStartMs: now,
      nowMs: now,
    });
  for (const key of ['a', 'b', 'c']) {
    expect((await quota(key)).admitted).toBe(true);
    expect((await quota(key)).admitted).toBe(true);
    expect((await quota(key)).admitted).toBe(false);
  }
  expect(await stores.buckets.take('s', 1, 1, 0.001, now)).toBe(true);
  expect(await stores.buckets.take('s', 1, 1, 0.001, now)).toBe(false);
  const keys = Array.from({ length: 20 }, (_v, i) => `shop/_/app__${i}`);
  await Promise.all(keys.map((k) => stores.cache.set(k, Buffer.from(k), 60_000)));
  await stores.cache.set('shop/_/other', Buffer.from('x'), 60_000);
  await stores.cache.deletePrefix('shop/_/app__');
  expect(await Promise.all(keys.map((k) => stores.cache.get(k)))).toEqual(keys.map(() => undefined));
  expect((await stores.cache.get('shop/_/other'))?.toString()).toBe('x');
  // A take and a consume together (keys on different slots in a Cluster); a refused take leaves the quota as it was.
  const ops: AdmissionOp[] = [
    { kind: 'bucket', take: { key: 'adm', weight: 1, capacity: 2, refillPerMs: 0, nowMs: now } },
    {
      kind: 'quota',
      request: { key: 'adm', kind: 'fixed', weight: 1, limit: 5, windowMs: 60_000, windowStartMs: now, nowMs: now },
    },
  ];
  expect(await stores.admit(ops)).toEqual([
    { kind: 'bucket', admitted: true },
    { kind: 'quota', admitted: true, used: 1, windowEndMs: now + 60_000 },
  ]);
  expect(await stores.admit(ops)).toEqual([
    { kind: 'bucket', admitted: true },
    { kind: 'quota', admitted: true, used: 2, windowEndMs: now + 60_000 },
  ]);
  expect(await stores.admit(ops)).toEqual([{ kind: 'bucket', admitted: false }]);
  expect(await stores.counters.get('adm')).toBe(2);
}

describe('Redis modes', () => {
  it('Sentinel: finds the master through the Sentinel', async () => {
    const master = await startRedis(redisBinary, logDir);
    cleanups.push(() => master.stop());
    const port = await freePort();
    const conf = join(logDir, 'sentinel.conf');
    writeFileSync(
      conf,
      `port ${port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds mymaster 5000\n`,
    );
    serve('sentinel', [conf, '--sentinel']);
    const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    probe.on('error', () => {});
    await until(
      'the sentinel',
      async () => (await probe.call('SENTINEL', 'get-master-addr-by-name', 'mymaster')) !== null,
    );
    probe.disconnect();
    await exercise(await open({ url: `redis://127.0.0.1:${port}/?name=mymaster`, mode: 'Sentinel' }));
  });

  it('Cluster: scripts, keys and purges across three masters', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    for (const port of ports) {
      serve(`cluster-${port}`, [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(logDir, `nodes-${port}.conf`),
      ]);
    }
    const probes = ports.map((port) => {
      const r = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
      r.on('error', () => {});
      return r;
    });
    await until('the cluster nodes', async () =>
      (await Promise.all(probes.map((p) => p.ping()))).every((r) => r === 'PONG'),
    );
    const create = spawnSync(
      join(dirname(redisBinary), 'redis-cli'),
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    expect(create.status, create.stdout + create.stderr).toBe(0);
    await until('cluster_state:ok', async () =>
      (await Promise.all(probes.map((p) => p.cluster('INFO')))).every((info) =>
        String(info).includes('cluster_state:ok'),
      ),
    );
    probes.forEach((p) => p.disconnect());
    await exercise(await open({ url: `redis://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`, mode: 'Cluster' }));
  });
});
