// Issue 6's distributed-correctness test, as users run it: `gatehouse compile` writes a snapshot, two
// `gatehouse extproc --redis` processes share the real Redis, and many concurrent Envoy-style streams
// (devproxy/src/ext-proc) hit both. Exactly `allow` requests get through per window, never more, and the counter
// key in Redis carries a TTL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../env/env.ts';
import { compileSnapshot, get, meteredProxy, startExtproc, type ExtprocProcess } from './extproc-process.ts';

const ALLOW = 37;

describe('two extproc processes sharing one Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-two-extprocs-'));
  const extprocs: ExtprocProcess[] = [];

  beforeAll(async () => {
    const snapshot = compileSnapshot(dir, meteredProxy(ALLOW));
    for (let i = 0; i < 2; i++) {
      // Correctness, not latency, is under test: a loaded CI machine must not turn slow calls into 503s.
      extprocs.push(
        await startExtproc(snapshot, ['--region', 'test-two-extprocs', '--redis-deadline-ms', '2000'], {
          GATEHOUSE_REDIS_URL: process.env[ENV.redisUrl],
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(extprocs.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('admits exactly `allow` per window across both, never more, and the counter expires', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        get(extprocs[i % 2]!.client, 'traffic/metered', `/metered/${i}`, [['x-tenant', 'acme']]).then(
          (r) => r.response.status,
        ),
      ),
    );
    const counts = Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]));
    expect(counts).toEqual({ 200: ALLOW, 429: 200 - ALLOW });

    const redis = new Redis(process.env[ENV.redisUrl]!);
    try {
      const keys = await redis.keys('gh:test-two-extprocs:*');
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });
});
