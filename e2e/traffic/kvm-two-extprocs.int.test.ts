// KeyValueMapOperations across processes (docs/policies.md#keyvaluemapoperations): `gatehouse compile`
// writes a snapshot with a KeyValueMap (a literal entry and an encrypted one from a Secret), two
// `gatehouse extproc --redis` processes share the real Redis, and a Put through one is read by a Get
// through the other. Redis holds the entries only under keyed hashes, and the encrypted map's runtime
// value sealed; another namespace's map of the same name is never read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../env/env.ts';
import { compileSnapshot, get, startExtproc, type ExtprocProcess } from './extproc-process.ts';

const REGION = 'test-kvm-two';

/** /kv: x-op put writes x-key = x-value; every request then reads x-key into the x-kv-value upstream header. */
const manifests = `
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: kv, namespace: kvm-a}
spec:
  basePath: /kv
  target: {url: "http://127.0.0.1:9"}
  flows:
    preFlow:
      request:
        - {policy: put-entry, condition: 'request.header.x-op = "put"'}
        - {policy: delete-entry, condition: 'request.header.x-op = "delete"'}
        - {policy: get-entry}
        - {policy: get-secret}
        - {policy: stamp}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: put-entry, namespace: kvm-a}
spec:
  type: KeyValueMapOperations
  keyValueMapOperations:
    mapIdentifier: settings
    scope: organization
    put: [{override: true, key: {parameters: [{ref: request.header.x-key}]}, value: [{ref: request.header.x-value}]}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: delete-entry, namespace: kvm-a}
spec:
  type: KeyValueMapOperations
  keyValueMapOperations:
    mapIdentifier: settings
    scope: organization
    delete: [{key: {parameters: [{ref: request.header.x-key}]}}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: get-entry, namespace: kvm-a}
spec:
  type: KeyValueMapOperations
  keyValueMapOperations:
    mapIdentifier: settings
    scope: organization
    expiryTimeInSecs: 0
    get: [{assignTo: kv.value, key: {parameters: [{ref: request.header.x-key}]}}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: get-secret, namespace: kvm-a}
spec:
  type: KeyValueMapOperations
  keyValueMapOperations:
    mapIdentifier: vault
    scope: organization
    get: [{assignTo: private.token, key: {parameters: [upstream-token]}}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: stamp, namespace: kvm-a}
spec:
  type: AssignMessage
  assignMessage:
    set: {headers: {x-kv-value: "{kv.value}", x-token-length: "{private.token}"}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: KeyValueMap
metadata: {name: settings, namespace: kvm-a}
spec:
  scope: organization
  entries: [{key: color, values: [declared-red]}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: KeyValueMap
metadata: {name: vault, namespace: kvm-a}
spec:
  scope: organization
  encrypted: true
  entries: [{key: upstream-token, valueFrom: {secretKeyRef: {name: vault-values, key: token}}}]
---
apiVersion: v1
kind: Secret
metadata: {name: vault-values, namespace: kvm-a, labels: {gatehouse.dev/credential: "true"}}
stringData: {token: kvm-e2e-secret-token}
---
apiVersion: gatehouse.dev/v1alpha1
kind: KeyValueMap
metadata: {name: settings, namespace: kvm-b}
spec:
  scope: organization
  entries: [{key: shape, values: [other-tenant-circle]}]
`;

describe('KeyValueMapOperations: two extproc processes sharing one Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kvm-two-'));
  const extprocs: ExtprocProcess[] = [];
  let snapshotPath = '';

  beforeAll(async () => {
    snapshotPath = compileSnapshot(dir, manifests);
    for (let i = 0; i < 2; i++) {
      extprocs.push(
        await startExtproc(snapshotPath, ['--region', REGION, '--redis-deadline-ms', '2000'], {
          GATEHOUSE_REDIS_URL: process.env[ENV.redisUrl],
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(extprocs.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const upstreamHeader = async (i: number, headers: Array<[string, string]>, name: string) => {
    const result = await get(extprocs[i]!.client, 'kvm-a/kv', '/kv', headers);
    expect(result.response.status).toBe(200);
    return result.upstreamRequest?.headers.find(([n]) => n === name)?.[1];
  };

  it('a put through one process is read through the other; a delete through it shows the declared value gone', async () => {
    expect(await upstreamHeader(1, [['x-key', 'color']], 'x-kv-value')).toBe('declared-red');
    await upstreamHeader(
      0,
      [
        ['x-op', 'put'],
        ['x-key', 'color'],
        ['x-value', 'blue'],
      ],
      'x-kv-value',
    );
    expect(await upstreamHeader(1, [['x-key', 'color']], 'x-kv-value')).toBe('blue');
    await upstreamHeader(
      1,
      [
        ['x-op', 'delete'],
        ['x-key', 'color'],
      ],
      'x-kv-value',
    );
    expect(await upstreamHeader(0, [['x-key', 'color']], 'x-kv-value')).toBe('');
  });

  it("never reads another namespace's map of the same name", async () => {
    expect(await upstreamHeader(0, [['x-key', 'shape']], 'x-kv-value')).toBe('');
  });

  it('reads the encrypted value from the Secret into a private variable', async () => {
    expect(await upstreamHeader(0, [['x-key', 'none']], 'x-token-length')).toBe('kvm-e2e-secret-token');
  });

  it('keeps keys and values hashed in Redis, never a map name, key or value in clear', async () => {
    await upstreamHeader(
      0,
      [
        ['x-op', 'put'],
        ['x-key', 'plain-key-name'],
        ['x-value', 'plain-value'],
      ],
      'x',
    );
    const redis = new Redis(process.env[ENV.redisUrl]!);
    try {
      const keys = await redis.keys(`gh:${REGION}:kvm:*`);
      expect(keys.length).toBeGreaterThan(0);
      const dump = keys.join('\n');
      expect(dump).not.toMatch(/plain-key-name|color|settings|kvm-a/);
      const values = await Promise.all(keys.map((k) => redis.get(k)));
      expect(values.join('\n')).not.toContain('kvm-e2e-secret-token');
    } finally {
      redis.disconnect();
    }
  });
});
