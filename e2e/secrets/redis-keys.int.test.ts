// Attack: read the shared Redis (a replica, a backup, `MONITOR`, a managed service's console) and learn
// the consumers' API keys, client ids and whatever request data named a counter or a cache entry.
// Real traffic runs through `gatehouse extproc --redis` (compiled by `gatehouse compile`, driven the way
// Envoy drives ext_proc) with an API key, a tenant header, a query value and a session header feeding
// SpikeArrest, Quota, ResponseCache and Lookup/PopulateCache; then every key in Redis is scanned.
// Key names carry the region, kind, namespace and policy in clear, and request values only as keyed
// hashes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../env/env.ts';
import { runExtProcExchange } from '../envoy/exchange.ts';
import { compileSnapshot, startExtproc, type ExtprocProcess } from '../traffic/extproc-process.ts';

const tag = randomBytes(4).toString('hex');
const REGION = `secrets-${tag}`;
const raw = {
  apiKey: `ak-Live-${tag}-Key`,
  consumerSecret: `cs-${tag}-Secret`,
  tenant: `tenant-${tag}-Acme`,
  account: `acct-${tag}-9001`,
  session: `sess-${tag}-Cookie`,
};
const credentialKey = randomBytes(32).toString('hex');

const manifests = `
apiVersion: v1
kind: Secret
metadata: {name: gatehouse-credential-hash-key, namespace: gatehouse-system}
stringData: {key: "${credentialKey}"}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ledger, namespace: sec}
spec:
  basePath: /ledger
  target: {url: "http://127.0.0.1:9"}
  flows:
    preFlow:
      request: [{policy: verify-key}, {policy: spike}, {policy: quota}, {policy: lookup}, {policy: cached}]
      response: [{policy: cached}, {policy: populate}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: verify-key, namespace: sec}
spec: {type: VerifyAPIKey, verifyAPIKey: {apiKey: {ref: request.header.x-api-key}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: spike, namespace: sec}
spec: {type: SpikeArrest, spikeArrest: {rate: 600pm, useEffectiveCount: true, identifier: {ref: client_id}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: quota, namespace: sec}
spec:
  type: Quota
  quota: {allow: 1000, interval: 1, timeUnit: hour, identifier: {ref: request.header.x-tenant}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: cached, namespace: sec}
spec:
  type: ResponseCache
  responseCache:
    cacheKey: {keyFragments: [{ref: request.queryparam.account}, {ref: client_id}]}
    expiry: {timeoutSeconds: 600}
    useAcceptHeader: true
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: lookup, namespace: sec}
spec:
  type: LookupCache
  lookupCache: {cacheKey: {prefix: profiles, keyFragments: [{ref: request.header.x-session}]}, assignTo: cached.profile}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: populate, namespace: sec}
spec:
  type: PopulateCache
  populateCache:
    cacheKey: {prefix: profiles, keyFragments: [{ref: request.header.x-session}]}
    source: client_id
    expiry: {timeoutSeconds: 600}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: all, namespace: sec}
spec: {proxies: [ledger]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: ledger-app, namespace: sec}
spec:
  developer: {email: dev@example.com}
  products: [{name: all}]
  credentials: [{secretRef: {name: ledger-key}}]
---
apiVersion: v1
kind: Secret
metadata: {name: ledger-key, namespace: sec}
stringData: {consumerKey: "${raw.apiKey}", consumerSecret: "${raw.consumerSecret}"}
`;

/** The raw values and the encodings a careless key name could carry them in. */
function spellings(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  return [
    value,
    value.toLowerCase(),
    encodeURIComponent(value),
    bytes.toString('hex'),
    bytes.toString('base64'),
    bytes.toString('base64url'),
  ];
}

async function allKeys(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

describe('Redis key names under real traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-secrets-redis-'));
  let extproc: ExtprocProcess;
  const redis = new Redis(process.env[ENV.redisUrl]!);

  beforeAll(async () => {
    const snapshot = compileSnapshot(dir, manifests);
    // Keys, not latency, are under test: a loaded machine must not turn slow calls into 503s.
    extproc = await startExtproc(snapshot, ['--region', REGION, '--redis-deadline-ms', '2000'], {
      GATEHOUSE_REDIS_URL: process.env[ENV.redisUrl],
    });
  });

  afterAll(async () => {
    await extproc?.stop();
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never contain an API key, a client id, a quota identifier or request data used as a cache key', async () => {
    const headers: Array<[string, string]> = [
      ['x-api-key', raw.apiKey],
      ['x-tenant', raw.tenant],
      ['x-session', raw.session],
      ['accept', `application/json; tenant=${raw.tenant}`],
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await runExtProcExchange({
        client: extproc.client,
        route: 'sec/ledger',
        timeoutMs: 5_000,
        mode: { responseBodyMode: 'BUFFERED' },
        request: {
          method: 'GET',
          path: `/ledger/balance?account=${raw.account}`,
          authority: 'api.test',
          headers,
        },
        upstream: () => ({ status: 200, headers: [['content-type', 'text/plain']], body: Buffer.from('balance: 42') }),
      });
      expect(result.failure).toBeUndefined();
      statuses.push(result.response.status);
    }
    expect(statuses).toEqual([200, 200, 200]);

    const keys = (await allKeys(redis)).filter((k) => k.startsWith(`gh:${REGION}:`));
    // Names that are not secret stay readable: region, kind, namespace, policy or cache partition.
    const prefixes = [
      `gh:${REGION}:bucket:{sec/spike/`,
      `gh:${REGION}:quota:{sec/quota/`,
      `gh:${REGION}:cache:{sec/_/ledger__exclusive__`,
      `gh:${REGION}:cache:{sec/_/profiles__`,
    ];
    for (const prefix of prefixes)
      expect(
        keys.some((k) => k.startsWith(prefix)),
        `${prefix} in ${keys.join(', ')}`,
      ).toBe(true);

    // Every key in the database, not only this test's region.
    const everything = await allKeys(redis);
    for (const value of Object.values(raw))
      for (const spelling of spellings(value))
        for (const key of everything) expect(key, `a Redis key carries ${value}`).not.toContain(spelling);
  });
});
