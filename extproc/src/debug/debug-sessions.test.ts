// Debug sessions end to end in extproc (docs/operations.md#debug-sessions): a real ext_proc server
// driven by devproxy's ext_proc client, a real DebugCaptureService receiving the captures over gRPC.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExtProcClient, type ExternalProcessorClient } from '../../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange, type ExchangeOptions } from '../../../devproxy/src/ext-proc/exchange.ts';
import type { HttpRequest, HttpResponse } from '../../../devproxy/src/http/message.ts';
import type { DebugSession } from '../../../protos/gen/gatehouse/v1/DebugSession.ts';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import type { PolicyCatalog } from '../config/snapshot.ts';
import type { PolicyContext, PolicyImplementation, PolicyStep } from '../flow/types.ts';
import { policy, proxy, testCatalog } from '../server/fixtures.test-support.ts';
import { ExtprocMetrics } from '../server/metrics.ts';
import { startTestServer, type TestServer } from '../server/test-server.test-support.ts';
import { startCaptureServer, type CaptureServer } from './capture-server.test-support.ts';
import { startDebugCapture, type DebugCaptureWiring } from './capture.ts';

const API_KEY = 'k3y-4pi-SECRET-0001';
const CLIENT_SECRET = 'cl1ent-s3cret-XYZ';
const ISSUED_TOKEN = 'issued-t0ken-ABCDEF123';
const BEARER = 'bearer-t0ken-QWERTY99';

/** Stand-ins with the Apigee type names the masking keys on (the real policies are tested elsewhere). */
const standIns: Record<string, (c: Record<string, unknown>) => PolicyStep> = {
  VerifyAPIKey: () => (ctx: PolicyContext) => {
    const key = ctx.variables.resolve({ ref: 'request.queryparam.apikey' });
    ctx.variables.set('verifyapikey.verify.client_id', key);
    ctx.variables.set('developer.app.name', 'shop-app');
  },
  OAuthV2: () => (ctx: PolicyContext) => {
    ctx.variables.getString('request.formparam.client_secret');
    ctx.variables.set('oauthv2accesstoken.token.access_token', ISSUED_TOKEN);
    return {
      respond: {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: ISSUED_TOKEN, token_type: 'Bearer', expires_in: 3600 }),
      },
    };
  },
  /** Replaces the response body with a JSON document holding personal data. */
  PersonalJson: () => (ctx: PolicyContext) => {
    ctx.response!.body.setText(
      JSON.stringify({ name: 'Ada', ssn: '123-45-6789', card: { number: '4111111111111111' } }),
      'application/json',
    );
  },
  PersonalXml: () => (ctx: PolicyContext) => {
    ctx.response!.body.setText(
      '<person xmlns:p="urn:p"><name>Ada</name><p:ssn>987-65-4321</p:ssn><card number="5500000000000004"/></person>',
      'application/xml',
    );
  },
  SetPrivate: () => (ctx: PolicyContext) => {
    ctx.variables.set('private.backend.password', 'kvm-s3cret-value');
    ctx.variables.set('custom.hidden', 'mask-me-var');
  },
};

const catalog: PolicyCatalog = {
  registry: new Map([
    ...testCatalog.registry,
    ...Object.entries(standIns).map(([type, make]): [string, PolicyImplementation<never>] => [
      type,
      { type, create: (config: never) => make(config) },
    ]),
  ]),
  bodyNeeds: (type, config, phase) =>
    (type === 'OAuthV2' && phase === 'request') || testCatalog.bodyNeeds(type, config, phase),
};

const future = () => String(Date.now() + 10 * 60_000);

function session(id: string, proxyName: string, extra: Partial<DebugSession> = {}): DebugSession {
  return {
    id,
    namespace: 'shop',
    name: `trace-${id}`,
    proxy: proxyName,
    count: 3,
    expiresAtMs: future(),
    maxTransactionBytes: 256 * 1024,
    ...extra,
  };
}

function snapshot(version: string, sessions: DebugSession[]): RuntimeSnapshot {
  return {
    version,
    credentialHashKey: 'ab'.repeat(32),
    policySecrets: { 'shop/backend/password': 'policy-s3cret-value' },
    dataPlanes: [{ namespace: 'shop', name: 'eu', region: 'eu-west' }],
    proxies: [
      proxy('dbg', {
        policies: {
          key: policy('VerifyAPIKey'),
          add: policy('SetHeader', { name: 'x-added', value: 'yes' }),
          never: policy('SetHeader', { name: 'x-never', value: 'no' }),
          priv: policy('SetPrivate'),
          json: policy('PersonalJson'),
        },
        flows: {
          preFlow: {
            request: [
              { policy: 'key' },
              { policy: 'add' },
              {
                policy: 'never',
                condition: {
                  source: 'request.verb = "DELETE"',
                  comparison: { operator: 'EQUALS', left: { variable: 'request.verb' }, right: { string: 'DELETE' } },
                },
              },
              { policy: 'priv' },
            ],
            response: [{ policy: 'json' }],
          },
        },
      }),
      proxy('xml', {
        policies: { xml: policy('PersonalXml') },
        flows: { preFlow: { response: [{ policy: 'xml' }] } },
      }),
      proxy('token', {
        policies: { token: policy('OAuthV2') },
        flows: { preFlow: { request: [{ policy: 'token' }] } },
      }),
      proxy('deny', { policies: { deny: policy('Deny') }, flows: { preFlow: { request: [{ policy: 'deny' }] } } }),
      // Reads the response body (so the route buffers it): what a capture can show of it.
      proxy('big', { policies: { size: policy('BodySize') }, flows: { preFlow: { response: [{ policy: 'size' }] } } }),
      // Another namespace's proxy of the same name: never captured by shop's session.
      { ...proxy('dbg', { policies: {}, flows: {} }), namespace: 'other', route: 'other/dbg', basePath: '/other-dbg' },
    ],
    debugSessions: sessions,
  };
}

let capture: CaptureServer;
let server: TestServer;
let client: ExternalProcessorClient;
let wiring: DebugCaptureWiring;
const metrics = new ExtprocMetrics();

beforeAll(async () => {
  capture = await startCaptureServer();
  wiring = startDebugCapture({ address: capture.address, nodeId: 'extproc/test', metrics, timeoutMs: 2000 });
  server = await startTestServer({ catalog, debug: wiring.capture, limits: { maxBodyBytes: 4 * 1024 * 1024 } });
  client = createExtProcClient(server.address);
});
afterAll(async () => {
  client.close();
  wiring.reporter.close();
  await server.close();
  await capture.close();
});
afterEach(() => {
  capture.reports.length = 0;
  capture.raw.length = 0;
  capture.remaining = 100;
  capture.hang = false;
});

const exchange = (o: Omit<ExchangeOptions, 'client'>) => runExtProcExchange({ client, timeoutMs: 30_000, ...o });
const until = async (condition: () => boolean | Promise<boolean>) => {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 10));
};
const upstream =
  (body = '{"ok":true}', headers: Array<[string, string]> = []) =>
  (): HttpResponse => ({
    status: 200,
    headers: [['content-type', 'application/json'], ['set-cookie', 'sid=cookie-s3cret-1'], ...headers],
    body: Buffer.from(body),
  });
const get = (path: string, headers: Array<[string, string]> = []): HttpRequest => ({
  method: 'GET',
  path,
  authority: 'api.test',
  headers,
});
const dropped = async (reason: string) =>
  (await metrics.debugCapturesDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

describe('capturing', () => {
  it('reports exactly count transactions of the session under more traffic, with the timeline', async () => {
    server.apply(snapshot('s1', [session('s-count', 'dbg', { count: 3 })]));
    for (let i = 0; i < 8; i++) {
      const result = await exchange({
        route: 'shop/dbg',
        request: get(`/dbg/a?apikey=${API_KEY}&n=${i}`, [['authorization', `Bearer ${BEARER}`]]),
        upstream: upstream(),
      });
      expect(result.failure).toBeUndefined();
    }
    await until(() => capture.transactions('s-count').length >= 3);
    await wiring.reporter.flushed();
    const txs = capture.transactions('s-count');
    expect(txs).toHaveLength(3);
    const tx = txs[0]!;
    expect(tx.proxy).toBe('shop/dbg');
    expect(tx.status).toBe(200);
    const kinds = tx.points.map((p) => `${p.kind}:${p.phase}:${p.flow}:${p.policy}`);
    expect(kinds).toEqual([
      'PhaseStarted:ProxyRequest::',
      'FlowEntered:ProxyRequest:PreFlow:',
      'StepExecuted:ProxyRequest:PreFlow:key',
      'StepExecuted:ProxyRequest:PreFlow:add',
      'StepSkipped:ProxyRequest:PreFlow:never',
      'StepExecuted:ProxyRequest:PreFlow:priv',
      'PhaseStarted:TargetResponse::',
      'FlowEntered:ProxyResponse:PreFlow:',
      'StepExecuted:ProxyResponse:PreFlow:json',
      'ResponseSent:ProxyResponse:PreFlow:',
    ]);
    const skipped = tx.points[4]!;
    expect(skipped).toMatchObject({ outcome: 'skipped', condition: 'request.verb = "DELETE"', conditionResult: false });
    const add = tx.points[3]!;
    expect(add.messageAfter?.headers.find((h) => h.name === 'x-added')?.value).toBe('yes');
    expect(add.messageBefore?.headers.find((h) => h.name === 'x-added')).toBeUndefined();
    const key = tx.points[2]!;
    expect(key.policyType).toBe('VerifyAPIKey');
    expect(key.variablesRead.map((v) => v.name)).toEqual(['request.queryparam.apikey']);
    expect(key.variablesRead[0]!.value).toBe('********');
    expect(key.variablesSet).toContainEqual({ name: 'verifyapikey.verify.client_id', value: '********' });
    expect(key.variablesSet).toContainEqual({ name: 'developer.app.name', value: 'shop-app' });
    // The credentials never went over the wire, in any form.
    const wire = Buffer.concat(capture.raw).toString('latin1');
    for (const secret of [API_KEY, BEARER, 'kvm-s3cret-value', 'cookie-s3cret-1'])
      expect(wire.includes(secret), secret).toBe(false);
    expect(wire.includes('********')).toBe(true);
  });

  it('keeps only what the filter accepts, evaluated at the end (response conditions work)', async () => {
    const filter = {
      source: 'request.header.x-debug = "yes" and response.status.code = 200',
      all: {
        items: [
          {
            comparison: {
              operator: 'EQUALS' as const,
              left: { variable: 'request.header.x-debug' },
              right: { string: 'yes' },
            },
          },
          {
            comparison: {
              operator: 'EQUALS' as const,
              left: { variable: 'response.status.code' },
              right: { number: 200 },
            },
          },
        ],
      },
    };
    server.apply(snapshot('s2', [session('s-filter', 'dbg', { count: 5, filter })]));
    for (const value of ['no', 'yes', 'no', 'yes']) {
      await exchange({ route: 'shop/dbg', request: get('/dbg/f', [['x-debug', value]]), upstream: upstream() });
    }
    await until(() => capture.transactions('s-filter').length >= 2);
    await wiring.reporter.flushed();
    const txs = capture.transactions('s-filter');
    expect(txs).toHaveLength(2);
    for (const tx of txs)
      expect(tx.points[0]!.messageBefore!.headers).toContainEqual({ name: 'x-debug', value: 'yes' });
  });

  it("never captures another namespace's proxy of the same name, nor another proxy", async () => {
    server.apply(snapshot('s3', [session('s-ns', 'dbg')]));
    await exchange({ route: 'other/dbg', request: get('/other-dbg/x'), upstream: upstream() });
    await exchange({ route: 'shop/xml', request: get('/xml/x'), upstream: upstream() });
    await exchange({ route: 'shop/dbg', request: get('/dbg/x'), upstream: upstream() });
    await until(() => capture.transactions('s-ns').length >= 1);
    await wiring.reporter.flushed();
    expect(capture.transactions().map((t) => t.proxy)).toEqual(['shop/dbg']);
  });

  it("keeps a session's count across snapshot versions (the same session id)", async () => {
    const kept = session('s-reload', 'xml', { count: 2 });
    server.apply(snapshot('s5a', [kept]));
    await exchange({ route: 'shop/xml', request: get('/xml/1'), upstream: upstream() });
    server.apply(snapshot('s5b', [kept]));
    for (let i = 0; i < 3; i++) await exchange({ route: 'shop/xml', request: get('/xml/2'), upstream: upstream() });
    await until(() => capture.transactions('s-reload').length >= 2);
    await wiring.reporter.flushed();
    expect(capture.transactions('s-reload')).toHaveLength(2);
  });

  it('captures a fault: FaultRaised, the fault name and the status sent', async () => {
    server.apply(snapshot('s4', [session('s-fault', 'deny')]));
    await exchange({ route: 'shop/deny', request: get('/deny/x'), upstream: upstream() });
    await until(() => capture.transactions('s-fault').length >= 1);
    const tx = capture.transactions('s-fault')[0]!;
    expect(tx.status).toBe(403);
    expect(tx.faultName).toBe('IPDeniedAccess');
    expect(tx.points.map((p) => p.kind)).toEqual([
      'PhaseStarted',
      'FlowEntered',
      'StepExecuted',
      'FaultRaised',
      'ResponseSent',
    ]);
    expect(tx.points[2]).toMatchObject({ outcome: 'fault', faultCode: 'accesscontrol.IPDeniedAccess' });
  });
});

describe('masking', () => {
  it('masks JSON paths, XPaths, headers and variables of the mask, and credentials whatever it says', async () => {
    const mask = {
      jsonPathsResponse: ['$.ssn', '$.card'],
      xpathsResponse: ['/person/p:ssn', '/person/card/@number'],
      namespaces: { p: 'urn:p' },
      variables: ['custom.hidden'],
      headers: ['x-tenant-secret'],
    };
    server.apply(snapshot('m1', [session('m-json', 'dbg', { mask }), session('m-xml', 'xml', { mask })]));
    await exchange({
      route: 'shop/dbg',
      request: get(`/dbg/m?apikey=${API_KEY}`, [
        ['x-tenant-secret', 'tenant-s3cret-hdr'],
        ['cookie', 'session=cookie-s3cret-2; theme=dark'],
        ['proxy-authorization', `Basic ${Buffer.from('user:pr0xy-passw0rd').toString('base64')}`],
      ]),
      upstream: upstream(),
    });
    await exchange({ route: 'shop/xml', request: get('/xml/m'), upstream: upstream() });
    await until(() => capture.transactions('m-json').length >= 1 && capture.transactions('m-xml').length >= 1);
    await wiring.reporter.flushed();
    const wire = Buffer.concat(capture.raw).toString('utf8');
    for (const secret of [
      API_KEY,
      'tenant-s3cret-hdr',
      'cookie-s3cret-2',
      'pr0xy-passw0rd',
      '123-45-6789',
      '4111111111111111',
      '987-65-4321',
      '5500000000000004',
      'mask-me-var',
      'kvm-s3cret-value',
    ])
      expect(wire.includes(secret), secret).toBe(false);
    const json = capture.transactions('m-json')[0]!;
    const sent = json.points.at(-1)!.messageAfter!;
    expect(JSON.parse(sent.body)).toEqual({ name: 'Ada', ssn: '********', card: '********' });
    const xml = capture.transactions('m-xml')[0]!.points.at(-1)!.messageAfter!;
    expect(xml.body).toContain('<name>Ada</name>');
    expect(xml.body).toContain('<p:ssn>********</p:ssn>');
    expect(xml.body).toContain('number="********"');
    const vars = json.points.flatMap((p) => p.variablesSet);
    expect(vars).toContainEqual({ name: 'custom.hidden', value: '********' });
    // Hidden, as Apigee hides private.* variables; its value is masked wherever else it appears.
    expect(vars.map((v) => v.name)).not.toContain('private.backend.password');
  });

  it('masks the client_secret of a token request and the token OAuthV2 issued', async () => {
    server.apply(snapshot('m2', [session('m-token', 'token')]));
    const body = `grant_type=client_credentials&client_id=shop-app&client_secret=${CLIENT_SECRET}`;
    const result = await exchange({
      route: 'shop/token',
      mode: { requestBodyMode: 'BUFFERED' },
      request: {
        method: 'POST',
        path: '/token/oauth?client_secret=' + CLIENT_SECRET,
        authority: 'api.test',
        headers: [
          ['content-type', 'application/x-www-form-urlencoded'],
          ['content-length', String(body.length)],
        ],
        body: Buffer.from(body),
      },
      upstream: upstream(),
    });
    expect(result.failure).toBeUndefined();
    await until(() => capture.transactions('m-token').length >= 1);
    await wiring.reporter.flushed();
    const wire = Buffer.concat(capture.raw).toString('utf8');
    expect(wire.includes(CLIENT_SECRET)).toBe(false);
    expect(wire.includes(ISSUED_TOKEN)).toBe(false);
    const tx = capture.transactions('m-token')[0]!;
    const request = tx.points[0]!.messageBefore!;
    expect(request.body).toBe('grant_type=client_credentials&client_id=shop-app&client_secret=********');
    expect(request.path).toBe('/token/oauth?client_secret=********');
    expect(JSON.parse(tx.points.at(-1)!.messageAfter!.body)).toMatchObject({
      access_token: '********',
      token_type: 'Bearer',
    });
  });
});

describe('bounds and failures', () => {
  it('truncates huge bodies to max_transaction_bytes', async () => {
    server.apply(snapshot('b1', [session('b-big', 'big', { maxTransactionBytes: 8 * 1024 })]));
    const huge = JSON.stringify({ blob: 'x'.repeat(200_000) });
    await exchange({
      route: 'shop/big',
      mode: { responseBodyMode: 'BUFFERED' },
      request: get('/big/x'),
      upstream: upstream(huge),
    });
    await until(() => capture.transactions('b-big').length >= 1);
    await wiring.reporter.flushed();
    const tx = capture.transactions('b-big')[0]!;
    expect(tx.truncated).toBe(true);
    expect(capture.raw.at(-1)!.length).toBeLessThan(8 * 1024 + 256);
    const sent = tx.points.at(-1)!.messageAfter!;
    expect(sent.bodyTruncated).toBe(true);
    expect(sent.body.length).toBeGreaterThan(0);
  });

  it('stops capturing when the operator acks remaining 0', async () => {
    server.apply(snapshot('b2', [session('b-ack', 'big', { count: 10 })]));
    capture.remaining = 0;
    await exchange({ route: 'shop/big', request: get('/big/1'), upstream: upstream() });
    await until(() => capture.transactions('b-ack').length >= 1);
    await wiring.reporter.flushed();
    for (let i = 0; i < 5; i++) await exchange({ route: 'shop/big', request: get('/big/2'), upstream: upstream() });
    await wiring.reporter.flushed();
    expect(capture.transactions('b-ack')).toHaveLength(1);
  });

  it('captures nothing after the session expired', async () => {
    server.apply(snapshot('b3', [session('b-exp', 'big', { expiresAtMs: String(Date.now() - 1) })]));
    for (let i = 0; i < 3; i++) await exchange({ route: 'shop/big', request: get('/big/e'), upstream: upstream() });
    await wiring.reporter.flushed();
    expect(capture.transactions('b-exp')).toHaveLength(0);
  });

  it('a hung capture server delays no response; the overflow is dropped and counted', async () => {
    server.apply(snapshot('b4', [session('b-hang', 'big', { count: 400 })]));
    capture.hang = true;
    const before = await dropped('queue_full');
    // Rounds of concurrent requests (at most 32 of a session are recorded at once): more than the
    // reporter's queue holds while its one call hangs.
    for (let round = 0; round < 6; round++) {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          exchange({ route: 'shop/big', request: get(`/big/h${round}-${i}`), upstream: upstream() }),
        ),
      );
      for (const r of results) expect(r.failure).toBeUndefined();
    }
    expect(capture.reports).toHaveLength(0);
    await until(async () => (await dropped('queue_full')) > before);
    // The operator recovers: the call in flight times out (send_failed) and the queue drains.
    capture.hang = false;
    await wiring.reporter.flushed();
    expect(await dropped('send_failed')).toBeGreaterThan(0);
  });
});

describe('garbage', () => {
  it('survives hostile bodies and mask rules that do not compile (the body is masked whole)', async () => {
    const mask = { jsonPathsResponse: ['$[?(@.x)]'], xpathsResponse: ['///bad['] };
    server.apply(snapshot('g1', [session('g-bad', 'big', { mask, count: 3 })]));
    const bodies = ['{"a":', '['.repeat(5000), '\u0000\u00ff\u00fe binary', '<a><b>'];
    for (const body of bodies)
      await exchange({
        route: 'shop/big',
        mode: { responseBodyMode: 'BUFFERED' },
        request: get('/big/g'),
        upstream: upstream(body),
      });
    await until(() => capture.transactions('g-bad').length >= 3);
    await wiring.reporter.flushed();
    const sent = capture.transactions('g-bad').map((t) => t.points.at(-1)!.messageAfter!.body);
    expect(sent[0]).toBe('********');
    expect(sent[1]).toBe('********');
  });
});
