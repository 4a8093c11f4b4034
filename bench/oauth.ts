// `npm run bench:oauth`: CPU per request of OAuthV2 VerifyAccessToken against VerifyAPIKey in the same
// run, the policies called directly as the extproc compiles them (no gRPC: the transport's share is
// the same for both and bench:extproc measures it). Cases: VerifyAPIKey (the snapshot only; the
// reference), VerifyAccessToken on memory stores, VerifyAccessToken on a real redis-server on
// loopback (one GET per request). CPU is this process's user+system time (policy, crypto, the Redis
// client), divided by the requests; redis-server's own CPU is not in it.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ensureRedisServer, startRedis } from '../e2e/env/redis.ts';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { decodeRuntimeSnapshot } from '../extproc/src/config/decode.ts';
import { SnapshotRuntimeIndex } from '../extproc/src/config/runtime-index.ts';
import { Exchange } from '../extproc/src/flow/exchange.ts';
import { PolicyFault } from '../extproc/src/flow/faults.ts';
import { createRequestMessage } from '../extproc/src/flow/message.ts';
import { compileProxy } from '../extproc/src/flow/compile.ts';
import { policyRegistry } from '../extproc/src/policies/registry.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { createRedisStores } from '../extproc/src/stores/redis.ts';
import type { Stores } from '../extproc/src/stores/types.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const HASH_KEY = '00112233445566778899aabbccddeeff';
const [KEY, SECRET] = ['bench-key-123', 'bench-secret-456'];
const hmac = (v: string) => createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(v).digest('hex');

const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });
const proxy = (name: string, step: string) => ({
  namespace: 'bench',
  name,
  route: `bench/${name}`,
  basePath: `/${name}`,
  policies: {
    'verify-key': policy('VerifyAPIKey', { apiKey: { ref: 'request.header.x-api-key' } }),
    'verify-token': policy('OAuthV2', { operation: 'VerifyAccessToken' }),
    issue: policy('OAuthV2', { operation: 'GenerateAccessToken', generateResponse: true }),
  },
  flows: { preFlow: { request: [{ policy: step }] } },
});

const snapshot: RuntimeSnapshot = {
  version: 'bench-oauth',
  credentialHashKey: HASH_KEY,
  products: [{ namespace: 'bench', name: 'basic', proxies: ['key', 'token'], resources: ['/**'], approval: 'Auto' }],
  apps: [
    {
      namespace: 'bench',
      name: 'app',
      status: 'Approved',
      products: [{ name: 'basic', status: 'Approved' }],
      credentials: [{ keyHash: hmac(KEY), secretHash: hmac(SECRET), status: 'Approved' }],
    },
  ],
  proxies: [proxy('key', 'verify-key'), proxy('token', 'verify-token'), proxy('issue', 'issue')],
};

const snap = decodeRuntimeSnapshot(snapshot);
const runtime = new SnapshotRuntimeIndex(snap);
const log = pino({ level: 'silent' });

function stepOf(name: string) {
  const p = snap.proxies.find((x) => x.name === name)!;
  return { proxy: p, step: compileProxy(p, policyRegistry).preFlow.request[0]!.run };
}

function exchange(name: string, stores: Stores, headers: Record<string, string>, body?: string) {
  const { proxy: p } = stepOf(name);
  const request = createRequestMessage({
    method: body === undefined ? 'GET' : 'POST',
    path: `/${name}/orders`,
    scheme: 'http',
    authority: 'bench.test',
    headers,
    ...(body === undefined ? {} : { body: Buffer.from(body) }),
  });
  return new Exchange({
    request,
    proxy: p,
    runtime,
    stores,
    log,
    now: Date.now,
    environmentName: 'bench',
    messageId: 'bench',
    client: { ip: '198.51.100.7', cn: '' },
  }).context('request');
}

async function issueToken(stores: Stores): Promise<string> {
  const { step } = stepOf('issue');
  const result = await step(
    exchange(
      'issue',
      stores,
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}`,
      },
      'grant_type=client_credentials',
    ),
  );
  if (!result) throw new Error('no token response');
  return (JSON.parse(result.respond.body) as { access_token: string }).access_token;
}

interface Row {
  name: string;
  requests: number;
  cpuUsPerRequest: number;
  rate: number;
  statuses: Record<string, number>;
}

async function measure(name: string, route: string, stores: Stores, headers: Record<string, string>): Promise<Row> {
  const { step } = stepOf(route);
  const statuses: Record<string, number> = {};
  let requests = 0;
  const loop = async (until: number, record: boolean) => {
    while (performance.now() < until) {
      let status = 200;
      try {
        await step(exchange(route, stores, headers));
      } catch (err) {
        if (!(err instanceof PolicyFault)) throw err;
        status = err.status;
      }
      if (record) {
        requests++;
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }
  };
  const warm = performance.now() + WARMUP_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(warm, false)));
  const cpu = process.cpuUsage();
  const end = performance.now() + DURATION_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, () => loop(end, true)));
  const used = process.cpuUsage(cpu);
  return {
    name,
    requests,
    cpuUsPerRequest: (used.user + used.system) / requests,
    rate: requests / (DURATION_MS / 1000),
    statuses,
  };
}

const logDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-oauth-'));
const redisServer = await startRedis(ensureRedisServer(), logDir);
const redis = await createRedisStores({ url: redisServer.url, region: 'bench', deadlineMs: 1_000 });
const memory = createMemoryStores();

process.stdout.write(
  `oauth bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} in flight, policies called directly\n\n`,
);
const rows = [
  await measure('VerifyAPIKey (snapshot)', 'key', memory, { 'x-api-key': KEY }),
  await measure('VerifyAccessToken, memory', 'token', memory, { authorization: `Bearer ${await issueToken(memory)}` }),
  await measure('VerifyAccessToken, Redis', 'token', redis, { authorization: `Bearer ${await issueToken(redis)}` }),
];
process.stdout.write(
  `${'case'.padEnd(30)} ${'req/s'.padStart(8)} ${'CPU us/req'.padStart(11)} ${'x APIKey'.padStart(9)}  statuses\n`,
);
for (const row of rows) {
  process.stdout.write(
    `${row.name.padEnd(30)} ${row.rate.toFixed(0).padStart(8)} ${row.cpuUsPerRequest.toFixed(1).padStart(11)} ${(row.cpuUsPerRequest / rows[0]!.cpuUsPerRequest).toFixed(2).padStart(9)}  ${JSON.stringify(row.statuses)}\n`,
  );
}

await redis.close();
await memory.close();
await redisServer.stop();
rmSync(logDir, { recursive: true, force: true });
