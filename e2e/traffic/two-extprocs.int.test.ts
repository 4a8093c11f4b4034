// Issue 6's distributed-correctness test, as users run it: `gatehouse compile` writes a snapshot, two
// `gatehouse extproc --redis` processes share the real Redis, and many concurrent Envoy-style streams
// (e2e/envoy) hit both. Exactly `allow` requests get through per window, never more, and the counter
// key in Redis carries a TTL.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../env/ports.ts';
import { ENV } from '../env/env.ts';
import { createExtProcClient, type ExternalProcessorClient } from '../envoy/client.ts';
import { runExtProcExchange } from '../envoy/exchange.ts';

const root = new URL('../..', import.meta.url).pathname;
const node = join(root, 'node_modules/.bin/node');
const ALLOW = 37;

function manifests(startTime: string): string {
  return `
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: metered, namespace: traffic}
spec:
  basePath: /metered
  target: {url: "http://127.0.0.1:9"}
  flows:
    preFlow:
      request: [{policy: per-hour}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: Policy
metadata: {name: per-hour, namespace: traffic}
spec:
  type: Quota
  quota: {type: calendar, allow: ${ALLOW}, interval: 1, timeUnit: hour, startTime: "${startTime}",
          identifier: {ref: request.header.x-tenant}, distributed: true, synchronous: true}
`;
}

async function waitReady(metricsPort: number, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`extproc exited with ${proc.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error('extproc not ready');
}

describe('two extproc processes sharing one Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-two-extprocs-'));
  const procs: ChildProcess[] = [];
  const clients: ExternalProcessorClient[] = [];

  beforeAll(async () => {
    // The window starts a minute ago, so the whole test sits inside one hour-long window.
    writeFileSync(join(dir, 'traffic.yaml'), manifests(new Date(Date.now() - 60_000).toISOString()));
    execFileSync(node, [join(root, 'bin/gatehouse.js'), 'compile', '-f', dir, '-o', join(dir, 'snapshot.json')], { stdio: 'pipe' });
    for (let i = 0; i < 2; i++) {
      const [port, metricsPort] = [await freePort(), await freePort()];
      const proc = spawn(node, [join(root, 'bin/gatehouse.js'), 'extproc', '--snapshot', join(dir, 'snapshot.json'),
        '--port', String(port), '--metrics-port', String(metricsPort), '--region', 'test-two-extprocs',
        // Correctness, not latency, is under test: a loaded CI machine must not turn slow calls into 503s.
        '--redis-deadline-ms', '2000'],
      { stdio: 'ignore', env: { ...process.env, GATEHOUSE_REDIS_URL: process.env[ENV.redisUrl], GATEHOUSE_LOG_LEVEL: 'warn' } });
      procs.push(proc);
      await waitReady(metricsPort, proc);
      clients.push(createExtProcClient(`127.0.0.1:${port}`));
    }
  });

  afterAll(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(procs.map((p) => new Promise<void>((resolve) => {
      if (p.exitCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    })));
    rmSync(dir, { recursive: true, force: true });
  });

  it('admits exactly `allow` per window across both, never more, and the counter expires', async () => {
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => runExtProcExchange({
      client: clients[i % 2]!,
      route: 'traffic/metered',
      timeoutMs: 5_000,
      request: { method: 'GET', path: `/metered/${i}`, authority: 'api', headers: [['x-tenant', 'acme']], body: Buffer.alloc(0) },
      upstream: () => ({ status: 200, headers: [], body: Buffer.alloc(0) }),
    }).then((r) => r.response.status)));
    const counts = Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]));
    expect(counts).toEqual({ 200: ALLOW, 429: 200 - ALLOW });
    expect(statuses.filter((s) => s === 200)).toHaveLength(ALLOW);
    expect(statuses.filter((s) => s === 429)).toHaveLength(200 - ALLOW);

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
