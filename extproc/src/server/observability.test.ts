// What an SRE follows a request by (docs/operations.md#observability): every extproc log line about a
// request carries its request id, trace id and proxy (and the policy, for a policy's own lines); each
// reply tells Envoy the proxy, the app and the fault code as `gatehouse` dynamic metadata (the access
// log reads it); the per-proxy and per-policy-type metrics count it, with labels bounded by
// configuration and never taken from request input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { createExtProcClient, type ExternalProcessorClient } from '../../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange } from '../../../devproxy/src/ext-proc/exchange.ts';
import type { HttpRequest, HttpResponse } from '../../../devproxy/src/http/message.ts';
import { SnapshotStore } from '../config/snapshot-store.ts';
import { createMemoryStores } from '../stores/memory.ts';
import { policy, proxy, testCatalog } from './fixtures.test-support.ts';
import { ExtprocMetrics } from './metrics.ts';
import { createExtprocServer, type ExtprocServer } from './server.ts';
import { buildSnapshot } from './test-server.test-support.ts';
import { traceIdOf } from './request-context.ts';
import { TRANSPORTS } from './transport.ts';

describe.each(TRANSPORTS)('over %s', (transport) => {
  const snapshot: RuntimeSnapshot = {
    version: 'v1',
    dataPlanes: [{ namespace: 'shop', name: 'eu', region: 'eu-west' }],
    proxies: [
      proxy('orders', {
        policies: {
          app: policy('SetVariable', { name: 'developer.app.name', value: 'mobile' }),
          log: policy('Log', { msg: 'checked the order' }),
        },
        flows: { preFlow: { request: [{ policy: 'app' }, { policy: 'log' }] } },
      }),
      proxy('deny', {
        policies: {
          app: policy('SetVariable', { name: 'developer.app.name', value: 'web' }),
          deny: policy('Deny'),
        },
        flows: { preFlow: { request: [{ policy: 'app' }, { policy: 'deny' }] } },
      }),
      proxy('third', { policies: {}, flows: {} }),
    ],
  };

  const lines: Array<Record<string, unknown>> = [];
  let server: ExtprocServer;
  let client: ExternalProcessorClient;
  const stores = createMemoryStores();
  const metrics = new ExtprocMetrics({ maxProxies: 2 });

  beforeAll(async () => {
    const store = new SnapshotStore();
    store.apply(buildSnapshot(snapshot, testCatalog));
    server = createExtprocServer({
      snapshots: store,
      stores,
      metrics,
      log: pino(
        { level: 'info' },
        { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
      ),
      work: { workers: 0 },
      transport,
    });
    client = createExtProcClient(`127.0.0.1:${await server.listen('127.0.0.1', 0)}`);
  });
  afterAll(async () => {
    client.close();
    await server.shutdown(1000);
    await stores.close();
  });

  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const upstream = (): HttpResponse => ({ status: 200, headers: [], body: Buffer.alloc(0) });
  const get = (path: string, headers: Array<[string, string]> = []): HttpRequest => ({
    method: 'GET',
    path,
    authority: 'api.test',
    headers,
  });
  const run = (route: string, request: HttpRequest, requestId = 'req-1') =>
    runExtProcExchange({
      client,
      route,
      request,
      upstream,
      connection: { sourceAddress: '10.0.0.7:5000', requestId },
      mode: { responseHeaderMode: 'SKIP' },
      receivingNamespaces: ['gatehouse'],
      timeoutMs: 30_000,
    });
  /** A sample's value (a histogram's by its _count name). */
  const value = async (name: string, labels: Record<string, string>) => {
    const metric =
      metrics.registry.getSingleMetric(name) ?? metrics.registry.getSingleMetric(name.replace(/_count$/, ''));
    return (await metric!.get()).values.find(
      (v) =>
        (!('metricName' in v) || v.metricName === name) && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
    )?.value;
  };

  describe('request context', () => {
    it('a policy log line carries request id, trace id, proxy, policy and its type', async () => {
      await run('shop/orders', get('/orders', [['traceparent', traceparent]]));
      const line = lines.find((l) => l.msg === 'checked the order');
      expect(line).toMatchObject({
        requestId: 'req-1',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        proxy: 'shop/orders',
        policy: 'log',
        policyType: 'Log',
      });
    });

    it('tells Envoy proxy and app as gatehouse dynamic metadata; a fault adds its code on the ImmediateResponse', async () => {
      const ok = await run('shop/orders', get('/orders'));
      expect([...ok.dynamicMetadata]).toEqual([['gatehouse', { proxy: 'shop/orders', app: 'mobile' }]]);
      const denied = await run('shop/deny', get('/deny'));
      expect(denied.response.status).toBe(403);
      expect(denied.replies.map((r) => r.response)).toEqual(['immediateResponse']);
      expect(denied.dynamicMetadata.get('gatehouse')).toEqual({
        proxy: 'shop/deny',
        app: 'web',
        fault_code: 'accesscontrol.IPDeniedAccess',
      });
    });

    it('a route the snapshot does not have is no proxy: only the fault code is told, no label is made', async () => {
      const result = await run('shop/forged', get('/x'));
      expect(result.dynamicMetadata.get('gatehouse')).toEqual({ fault_code: 'gatehouse.RouteNotFound' });
      const labels = (await metrics.proxyRequests.get()).values.map((v) => v.labels.proxy);
      expect(labels).not.toContain('shop/forged');
    });

    it('a hostile request id stays inside one JSON log line; a malformed traceparent gives no trace id', async () => {
      const hostile = 'r\n{"level":60,"msg":"forged"}\u0000' + 'x'.repeat(10_000);
      lines.length = 0;
      await run('shop/orders', get('/orders', [['traceparent', '00-zz-00-01']]), hostile);
      const line = lines.find((l) => l.msg === 'checked the order')!;
      expect(line.requestId).toBe(hostile.slice(0, 128));
      expect(line.traceId).toBeUndefined();
      expect(lines.some((l) => l.msg === 'forged')).toBe(false);
      expect(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBe('');
    });
  });

  describe('per-proxy and per-policy metrics', () => {
    it('count requests and faults per proxy and time each policy type by outcome', async () => {
      const before = (await value('gatehouse_extproc_proxy_requests_total', { proxy: 'shop/orders' })) ?? 0;
      await run('shop/orders', get('/orders'));
      expect(await value('gatehouse_extproc_proxy_requests_total', { proxy: 'shop/orders' })).toBe(before + 1);
      expect(
        await value('gatehouse_extproc_proxy_faults_total', {
          proxy: 'shop/deny',
          code: 'accesscontrol.IPDeniedAccess',
        }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        await value('gatehouse_extproc_policy_duration_seconds_count', { type: 'Deny', outcome: 'fault' }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        await value('gatehouse_extproc_policy_duration_seconds_count', { type: 'SetVariable', outcome: 'continue' }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        await value('gatehouse_extproc_proxy_phase_duration_seconds_count', {
          proxy: 'shop/orders',
          phase: 'requestHeaders',
        }),
      ).toBeGreaterThanOrEqual(1);
    });

    it('a proxy past --metrics-max-proxies is counted as _other, and the overflow is reported', async () => {
      await run('shop/third', get('/third'));
      expect(await value('gatehouse_extproc_proxy_requests_total', { proxy: '_other' })).toBeGreaterThanOrEqual(1);
      expect(await value('gatehouse_extproc_proxy_requests_total', { proxy: 'shop/third' })).toBeUndefined();
      expect(await value('gatehouse_extproc_metric_label_overflow_total', { label: 'proxy' })).toBeGreaterThanOrEqual(
        1,
      );
    });
  });
});
