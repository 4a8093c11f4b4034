// Debug sessions with the real policies (docs/operations.md#debug-sessions): the API key VerifyAPIKey
// read, copied by AssignMessage into another header and a template, never reaches the capture server;
// a dead capture server delays no response and its failures are counted.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtProcClient, type ExternalProcessorClient } from '../../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange } from '../../../devproxy/src/ext-proc/exchange.ts';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { ExtprocMetrics } from '../server/metrics.ts';
import { startTestServer, type TestServer } from '../server/test-server.test-support.ts';
import { startCaptureServer, type CaptureServer } from './capture-server.test-support.ts';
import { startDebugCapture, type DebugCaptureWiring } from './capture.ts';

const HASH_KEY = 'cd'.repeat(32);
const API_KEY = 'real-api-key-7f3a9c';
const CLIENT_SECRET = 'real-client-s3cret-42';
const hash = (value: string) => createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(value).digest('hex');
const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });

function snapshot(sessionId: string): RuntimeSnapshot {
  const keyHash = hash(API_KEY);
  return {
    version: sessionId,
    credentialHashKey: HASH_KEY,
    products: [
      { namespace: 'dbgreal', name: 'basic', proxies: ['keyed', 'token'], resources: ['/**'], approval: 'Auto' },
    ],
    apps: [
      {
        namespace: 'dbgreal',
        name: 'app',
        status: 'Approved',
        products: [{ name: 'basic', status: 'Approved' }],
        credentials: [{ keyHash, secretHash: hash(CLIENT_SECRET), status: 'Approved' }],
      },
    ],
    proxies: [
      {
        namespace: 'dbgreal',
        name: 'keyed',
        route: 'dbgreal/keyed',
        basePath: '/keyed',
        policies: {
          'verify-key': policy('VerifyAPIKey', { apiKey: { ref: 'request.header.x-api-key' } }),
          echo: policy('AssignMessage', {
            assignTo: 'request',
            set: { headers: { 'x-echo': 'key={request.header.x-api-key}', 'x-app': '{developer.app.name}' } },
          }),
        },
        flows: { preFlow: { request: [{ policy: 'verify-key' }, { policy: 'echo' }] } },
      },
      {
        namespace: 'dbgreal',
        name: 'token',
        route: 'dbgreal/token',
        basePath: '/token',
        policies: { issue: policy('OAuthV2', { operation: 'GenerateAccessToken', generateResponse: true }) },
        flows: { preFlow: { request: [{ policy: 'issue' }] } },
      },
    ],
    debugSessions: [
      {
        id: sessionId,
        namespace: 'dbgreal',
        name: 't',
        proxy: 'keyed',
        count: 2,
        expiresAtMs: String(Date.now() + 600_000),
      },
      {
        id: `${sessionId}-token`,
        namespace: 'dbgreal',
        name: 't2',
        proxy: 'token',
        count: 1,
        expiresAtMs: String(Date.now() + 600_000),
      },
    ],
  };
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
};

let server: TestServer;
let client: ExternalProcessorClient;

beforeAll(async () => {
  server = await startTestServer();
  client = createExtProcClient(server.address);
});
afterAll(async () => {
  client.close();
  await server.close();
});

const request = () =>
  runExtProcExchange({
    client,
    timeoutMs: 30_000,
    route: 'dbgreal/keyed',
    request: {
      method: 'GET',
      path: `/keyed/x?other=${API_KEY}`,
      authority: 'api.test',
      headers: [['x-api-key', API_KEY]],
    },
    upstream: () => ({ status: 200, headers: [['content-type', 'text/plain']], body: Buffer.from('ok') }),
  });

describe('with the real policies', () => {
  let capture: CaptureServer;
  let wiring: DebugCaptureWiring;
  beforeAll(async () => {
    capture = await startCaptureServer();
    wiring = startDebugCapture({ address: capture.address, nodeId: 'extproc/real', metrics: new ExtprocMetrics() });
  });
  afterAll(async () => {
    wiring.reporter.close();
    await capture.close();
  });

  it('the API key VerifyAPIKey read appears nowhere in what the capture server receives', async () => {
    // A server of its own with the capture (the shared one has none).
    const own = await startTestServer({ debug: wiring.capture });
    const ownClient = createExtProcClient(own.address);
    try {
      own.apply(snapshot('real-1'));
      for (let i = 0; i < 3; i++) {
        const result = await runExtProcExchange({
          client: ownClient,
          timeoutMs: 30_000,
          route: 'dbgreal/keyed',
          request: {
            method: 'GET',
            path: `/keyed/x?other=${API_KEY}`,
            authority: 'api.test',
            headers: [['x-api-key', API_KEY]],
          },
          upstream: () => ({ status: 200, headers: [['content-type', 'text/plain']], body: Buffer.from('ok') }),
        });
        expect(result.failure).toBeUndefined();
      }
      await wiring.reporter.flushed();
      const txs = capture.transactions('real-1');
      expect(txs).toHaveLength(2);
      const wire = Buffer.concat(capture.raw).toString('latin1');
      expect(wire.includes(API_KEY)).toBe(false);
      const steps = txs[0]!.points.filter((p) => p.kind === 'StepExecuted');
      expect(steps.map((p) => `${p.policyType}:${p.outcome}`)).toEqual([
        'VerifyAPIKey:executed',
        'AssignMessage:executed',
      ]);
      const echoed = steps[1]!.messageAfter!.headers.find((h) => h.name === 'x-echo');
      expect(echoed?.value).toBe('key=********');
      expect(steps[1]!.messageAfter!.headers).toContainEqual({ name: 'x-app', value: 'app' });
      expect(steps[0]!.messageAfter).toBeFalsy();
    } finally {
      ownClient.close();
      await own.close();
    }
  });
});

describe('with the real OAuthV2', () => {
  it('neither the client secret nor the token it issued reaches the capture server', async () => {
    const capture = await startCaptureServer();
    const wiring = startDebugCapture({
      address: capture.address,
      nodeId: 'extproc/oauth',
      metrics: new ExtprocMetrics(),
    });
    const own = await startTestServer({ debug: wiring.capture });
    const ownClient = createExtProcClient(own.address);
    try {
      own.apply(snapshot('oauth-1'));
      const body = `grant_type=client_credentials&client_id=${API_KEY}&client_secret=${CLIENT_SECRET}`;
      const result = await runExtProcExchange({
        client: ownClient,
        timeoutMs: 30_000,
        route: 'dbgreal/token',
        mode: { requestBodyMode: 'BUFFERED' },
        request: {
          method: 'POST',
          path: '/token/issue',
          authority: 'api.test',
          headers: [
            ['content-type', 'application/x-www-form-urlencoded'],
            ['content-length', String(body.length)],
          ],
          body: Buffer.from(body),
        },
        upstream: () => ({ status: 500, headers: [], body: Buffer.from('never') }),
      });
      expect(result.failure).toBeUndefined();
      const issued = (JSON.parse(result.response.body.toString()) as { access_token: string }).access_token;
      expect(issued.length).toBeGreaterThan(8);
      await until(() => capture.transactions('oauth-1-token').length >= 1);
      await wiring.reporter.flushed();
      const wire = Buffer.concat(capture.raw).toString('latin1');
      for (const secret of [CLIENT_SECRET, issued, API_KEY]) expect(wire.includes(secret), secret).toBe(false);
      const tx = capture.transactions('oauth-1-token')[0]!;
      expect(tx.points.find((p) => p.kind === 'StepExecuted')?.policyType).toBe('OAuthV2');
    } finally {
      wiring.reporter.close();
      ownClient.close();
      await own.close();
      await capture.close();
    }
  });
});

describe('a dead capture server', () => {
  it('delays no response; the failed sends are counted', async () => {
    const gone = await startCaptureServer();
    const address = gone.address;
    await gone.close();
    const metrics = new ExtprocMetrics();
    const wiring = startDebugCapture({ address, nodeId: 'extproc/dead', metrics, timeoutMs: 2000 });
    const own = await startTestServer({ debug: wiring.capture });
    const ownClient = createExtProcClient(own.address);
    try {
      own.apply(snapshot('dead-1'));
      for (let i = 0; i < 2; i++) {
        const result = await runExtProcExchange({
          client: ownClient,
          timeoutMs: 30_000,
          route: 'dbgreal/keyed',
          request: { method: 'GET', path: '/keyed/x', authority: 'api.test', headers: [['x-api-key', API_KEY]] },
          upstream: () => ({ status: 200, headers: [], body: Buffer.from('ok') }),
        });
        expect(result.failure).toBeUndefined();
        expect(result.response?.status).toBe(200);
      }
      await wiring.reporter.flushed();
      const failed = (await metrics.debugCapturesDropped.get()).values.find((v) => v.labels.reason === 'send_failed');
      expect(failed?.value).toBeGreaterThan(0);
    } finally {
      wiring.reporter.close();
      ownClient.close();
      await own.close();
    }
  });

  it('without a capture (--snapshot), a snapshot with sessions serves as usual', async () => {
    server.apply(snapshot('none-1'));
    const result = await request();
    expect(result.failure).toBeUndefined();
    expect(result.response?.status).toBe(200);
  });
});
