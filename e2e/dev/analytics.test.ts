// Analytics end to end (docs/operations.md#analytics): a DataPlane's spec.analytics compiled by the real
// compiler, a real extproc behind devproxy, and the three sinks received here: an OTLP logs receiver
// (gRPC), an HTTP server taking the POSTed batches (with a header from a Secret) and a JSON-lines file.
// One request gives exactly one record in each, with Apigee's dimension names, the app, product and
// developer a VerifyAPIKey found, and never the API key, the Authorization header or the query
// string. Attacks: a sink that accepts connections and never answers delays no response, and records
// past the bounded queue are dropped and counted.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsRecorder, analyticsCounters, type AnalyticsCounters } from '../../extproc/src/analytics/recorder.ts';
import { startOtlpLogsReceiver, type OtlpLogsReceiver } from '../env/otlp-logs-receiver.ts';
import { closeServer, pathReady, send, startEcho, startStack, waitFor, type Stack } from './harness.ts';

const KEY = 'ax-key-7f3e9c1d';
const TOKEN = 'sink-token-5b2a';

const manifests = (o: {
  upstreamPort: number;
  sinks: string;
  queueSize?: number;
}) => `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: ax}
spec:
  region: eu-ax
  messageTimeout: 5s
  listeners: [{name: http, port: 8080}]
  analytics:
    flushInterval: 20ms
    batchSize: 10
    ${o.queueSize ? `queueSize: ${o.queueSize}` : ''}
    sinks: ${o.sinks}
---
apiVersion: v1
kind: Secret
metadata: {name: ax-sink, namespace: ax}
stringData: {token: ${TOKEN}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ax-orders, namespace: ax}
spec:
  basePath: /ax-orders
  target: {url: "http://127.0.0.1:${o.upstreamPort}"}
  flows: {preFlow: {request: [{policy: ax-key}, {policy: ax-stats}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: ax-key, namespace: ax}
spec: {type: VerifyAPIKey, verifyAPIKey: {apiKey: {ref: request.queryparam.apikey}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: ax-stats, namespace: ax}
spec:
  type: StatisticsCollector
  statisticsCollector:
    statistics:
      - {name: tier, ref: request.header.x-tier, type: string, default: free}
      - {name: units, ref: request.header.x-units, type: integer, default: "0"}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: ax-all, namespace: ax}
spec: {proxies: [ax-orders], resources: ["/**"], approval: Auto}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: ax-mobile, namespace: ax}
spec:
  developer: {email: ax-dev@example.com}
  products: [{name: ax-all, status: Approved}]
  credentials: [{secretRef: {name: ax-mobile-key}, status: Approved}]
---
apiVersion: v1
kind: Secret
metadata: {name: ax-mobile-key, namespace: ax}
stringData: {consumerKey: ${KEY}, consumerSecret: s-ax}
`;

type Json = Record<string, unknown>;

describe('analytics records through devproxy and extproc', () => {
  let stack: Stack;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let otlp: OtlpLogsReceiver;
  let http: HttpServer;
  let httpPort = 0;
  const posted: { headers: Record<string, unknown>; records: Json[] }[] = [];
  let hung: Server;
  const hungSockets: Socket[] = [];
  let recorder: AnalyticsRecorder;
  let counters: AnalyticsCounters;
  const file = join(mkdtempSync(join(tmpdir(), 'gh-ax-')), 'records.jsonl');

  const fileRecords = (): Json[] =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Json)
      : [];
  const httpRecords = () => posted.flatMap((p) => p.records);

  beforeAll(async () => {
    echo = await startEcho();
    otlp = await startOtlpLogsReceiver();
    http = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        posted.push({ headers: req.headers, records: JSON.parse(Buffer.concat(chunks).toString()) as Json[] });
        res.end('ok');
      });
    });
    httpPort = await new Promise<number>((resolve) =>
      http.listen(0, '127.0.0.1', () => resolve((http.address() as { port: number }).port)),
    );
    // A sink that takes connections and never answers (a hung collector).
    hung = createServer((s) => void hungSockets.push(s));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const registry = new Registry();
    counters = analyticsCounters(registry);
    recorder = new AnalyticsRecorder({ log: pino({ level: 'silent' }), counters });
    stack = await startStack({ extprocAnalytics: recorder });
    await stack.publish(
      manifests({
        upstreamPort: echo.port,
        sinks: `{otlp: {endpoint: "${otlp.address}"}, file: {path: "${file}"}, http: {url: "http://127.0.0.1:${httpPort}/ingest", headers: [{name: X-Ax-Token, secretKeyRef: {name: ax-sink, key: token}}]}}`,
      }),
    );
    await waitFor(() => recorder.enabled, 'analytics sinks started', 30_000);
    await pathReady(stack);
  });
  afterAll(async () => {
    await stack?.close();
    await recorder?.close();
    for (const s of hungSockets) s.destroy();
    if (hung) await new Promise<void>((resolve) => hung.close(() => resolve()));
    if (http) await closeServer(http);
    if (echo) await closeServer(echo.server);
    await otlp?.close();
  });

  it('one request, one record in each sink: Apigee dimension names, app, product, developer; no key, no query, no Authorization', async () => {
    const reply = await send(`${stack.baseUrl()}/ax-orders/items/7?apikey=${KEY}&color=red`, {
      headers: { authorization: 'Bearer very-secret-token', 'x-tier': 'gold', 'x-units': '12' },
    });
    expect(reply.status).toBe(200);
    const mine = (records: Json[]) => records.filter((r) => r.request_path === '/ax-orders/items/7');
    await waitFor(
      () =>
        mine(fileRecords()).length > 0 &&
        mine(httpRecords()).length > 0 &&
        otlp.logs.some((l) => l.attributes.request_path === '/ax-orders/items/7'),
      'the record in the three sinks',
      30_000,
    );
    // Exactly one, in each.
    await recorder.flush();
    expect(mine(fileRecords())).toHaveLength(1);
    expect(mine(httpRecords())).toHaveLength(1);
    const fromOtlp = otlp.logs.filter((l) => l.attributes.request_path === '/ax-orders/items/7');
    expect(fromOtlp).toHaveLength(1);
    const record = mine(fileRecords())[0]!;
    expect(record).toMatchObject({
      apiproxy: 'ax/ax-orders',
      apiproxy_revision: expect.stringMatching(/^\d+$/) as unknown,
      environment: 'eu-ax',
      dataplane: 'ax/edge',
      developer_app: 'ax-mobile',
      api_product: 'ax-all',
      developer_email: 'ax-dev@example.com',
      request_verb: 'GET',
      request_path: '/ax-orders/items/7',
      response_status_code: 200,
      target_response_code: 200,
      is_error: 0,
      x_apigee_fault_code: '',
      // StatisticsCollector's dimensions, typed.
      tier: 'gold',
      units: 12,
    });
    expect(record.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(record.total_response_time).toBeGreaterThan(0);
    expect(record.target_response_time).toBeGreaterThan(0);
    expect(mine(httpRecords())[0]).toEqual(record);
    expect(fromOtlp[0]!).toMatchObject({
      service: 'gatehouse-extproc',
      scope: 'gatehouse.analytics',
      eventName: 'gatehouse.analytics',
    });
    expect(fromOtlp[0]!.attributes).toMatchObject({
      tier: 'gold',
      units: 12,
      apiproxy: 'ax/ax-orders',
      developer_app: 'ax-mobile',
      response_status_code: 200,
    });
    // The HTTP sink got the header from the Secret.
    expect(posted.at(-1)!.headers['x-ax-token']).toBe(TOKEN);
    // Nothing secret in any sink.
    for (const text of [
      readFileSync(file, 'utf8'),
      JSON.stringify(posted.map((p) => p.records)),
      JSON.stringify(otlp.logs),
    ]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain('very-secret-token');
      expect(text).not.toContain('color=red');
      expect(text).not.toContain('?');
    }
  });

  it('a fault is recorded as an error with its code; a bad key never lands in the record', async () => {
    const reply = await send(`${stack.baseUrl()}/ax-orders/x?apikey=wrong-${KEY}`, {
      headers: { 'x-request-id': 'ax-req-2' },
    });
    expect(reply.status).toBe(401);
    await waitFor(() => fileRecords().some((r) => r.request_path === '/ax-orders/x'), 'the fault record', 30_000);
    const record = fileRecords().find((r) => r.request_path === '/ax-orders/x')!;
    expect(record).toMatchObject({
      response_status_code: 401,
      is_error: 1,
      x_apigee_fault_code: 'oauth.v2.InvalidApiKey',
      ax_execution_fault_policy_name: 'ax-key',
      developer_app: '',
      target_response_code: 0,
    });
    expect(readFileSync(file, 'utf8')).not.toContain(KEY);
  });

  it('a hung sink delays no response; past the queue records are dropped and counted', async () => {
    const hungPort = (hung.address() as { port: number }).port;
    await stack.publish(
      manifests({
        upstreamPort: echo.port,
        queueSize: 2,
        sinks: `{otlp: {endpoint: "127.0.0.1:${hungPort}"}, http: {url: "http://127.0.0.1:${hungPort}/ingest"}}`,
      }),
    );
    await waitFor(
      () => recorder.enabled && Object.keys(recorder.queued()).join() === 'http,otlp',
      'the hung sinks',
      30_000,
    );
    const dropped = async () =>
      (await counters.dropped.get()).values
        .filter((v) => v.labels.reason === 'queue_full')
        .reduce((sum, v) => sum + v.value, 0);
    const before = await dropped();
    for (let i = 0; i < 30; i++) {
      const reply = await send(`${stack.baseUrl()}/ax-orders/n/${i}?apikey=${KEY}`);
      expect(reply.status).toBe(200);
    }
    await waitFor(() => hungSockets.length > 0, 'a connection to the hung sink');
    expect(await dropped()).toBeGreaterThan(before);
    // The queues stay bounded.
    for (const n of Object.values(recorder.queued())) expect(n).toBeLessThanOrEqual(2);
  });
});
