// OAuthV2 across replicas, as users run it: two `gatehouse extproc --redis` processes share the real
// Redis; a token issued through one is accepted by the other, and once InvalidateToken runs on one,
// the other refuses it on the very next request (no local cache to outlive the revocation). Redis
// holds the tokens only under keyed hashes, sealed, with a TTL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExtProcExchange } from '../../devproxy/src/ext-proc/exchange.ts';
import { ENV } from '../env/env.ts';
import { compileSnapshot, get, startExtproc, type ExtprocProcess } from './extproc-process.ts';

const REGION = 'test-oauth-revocation';

const manifests = `
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: token, namespace: bank}
spec:
  basePath: /oauth
  target: {url: "http://127.0.0.1:9"}
  flows: {preFlow: {request: [{policy: issue}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: issue, namespace: bank}
spec:
  type: OAuthV2
  oauthV2: {operation: GenerateAccessToken, generateResponse: true, supportedGrantTypes: [client_credentials]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: accounts, namespace: bank}
spec:
  basePath: /accounts
  target: {url: "http://127.0.0.1:9"}
  flows: {preFlow: {request: [{policy: verify}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: verify, namespace: bank}
spec:
  type: OAuthV2
  oauthV2: {operation: VerifyAccessToken}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: revoke, namespace: bank}
spec:
  basePath: /revoke
  target: {url: "http://127.0.0.1:9"}
  flows: {preFlow: {request: [{policy: invalidate}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: invalidate, namespace: bank}
spec:
  type: OAuthV2
  oauthV2: {operation: InvalidateToken, tokens: [{type: accesstoken, value: {ref: request.header.x-token}}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: accounts, namespace: bank}
spec: {proxies: [accounts], resources: ["/**"], approval: Auto}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: fintech, namespace: bank}
spec:
  developer: {email: dev@fintech.example}
  products: [{name: accounts, status: Approved}]
  credentials: [{secretRef: {name: fintech-key}, status: Approved}]
---
apiVersion: v1
kind: Secret
metadata: {name: fintech-key, namespace: bank}
stringData: {consumerKey: fintech-id, consumerSecret: fintech-secret}
`;

describe('OAuthV2 with two extproc processes sharing one Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-oauth-revocation-'));
  const extprocs: ExtprocProcess[] = [];

  beforeAll(async () => {
    const snapshot = compileSnapshot(dir, manifests);
    for (let i = 0; i < 2; i++) {
      extprocs.push(
        await startExtproc(snapshot, ['--region', REGION, '--redis-deadline-ms', '2000'], {
          GATEHOUSE_REDIS_URL: process.env[ENV.redisUrl],
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(extprocs.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const issue = async (via: ExtprocProcess) => {
    const result = await runExtProcExchange({
      client: via.client,
      route: 'bank/token',
      timeoutMs: 5_000,
      mode: { requestBodyMode: 'BUFFERED' },
      request: {
        method: 'POST',
        path: '/oauth/token',
        authority: 'api',
        headers: [
          ['content-type', 'application/x-www-form-urlencoded'],
          ['authorization', `Basic ${Buffer.from('fintech-id:fintech-secret').toString('base64')}`],
        ],
        body: Buffer.from('grant_type=client_credentials'),
      },
      upstream: () => ({ status: 500, headers: [], body: Buffer.alloc(0) }),
    });
    expect(result.response.status).toBe(200);
    return JSON.parse(result.response.body.toString('utf8')) as { access_token: string };
  };

  const call = async (via: ExtprocProcess, token: string) =>
    (await get(via.client, 'bank/accounts', '/accounts/1', [['authorization', `Bearer ${token}`]])).response.status;

  it('a token issued on one replica verifies on the other, and is refused by both right after InvalidateToken', async () => {
    const [a, b] = extprocs as [ExtprocProcess, ExtprocProcess];
    const { access_token: token } = await issue(a);
    expect(await call(b, token)).toBe(200);
    expect(await call(a, token)).toBe(200);
    expect((await get(a.client, 'bank/revoke', '/revoke', [['x-token', token]])).response.status).toBe(200);
    // No wait: the next request on the other replica already sees the revocation.
    expect(await call(b, token)).toBe(401);
    expect(await call(a, token)).toBe(401);

    const redis = new Redis(process.env[ENV.redisUrl]!);
    try {
      const keys = await redis.keys(`gh:${REGION}:token:*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key).not.toContain(token);
        expect(await redis.pttl(key)).toBeGreaterThan(0);
        const value = (await redis.get(key))!;
        expect(value).not.toContain(token);
        expect(value).not.toContain('fintech');
      }
    } finally {
      redis.disconnect();
    }
  });
});
