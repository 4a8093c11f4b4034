import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import type { Server } from 'node:http';
import { SnapshotStore } from '../config/snapshot-store.ts';
import { testCatalog, testSnapshot } from './fixtures.test-support.ts';
import { createHealthServer, listenHttp } from './http.ts';
import { ExtprocMetrics } from './metrics.ts';
import { buildSnapshot, startTestServer, type TestServer } from './test-server.test-support.ts';
import { TRANSPORTS } from './transport.ts';

let http: Server;
let base: string;
const store = new SnapshotStore();
const metrics = new ExtprocMetrics();
beforeAll(async () => {
  http = createHealthServer(store, metrics);
  base = `http://127.0.0.1:${await listenHttp(http, '127.0.0.1', 0)}`;
});
afterAll(() => new Promise<void>((r) => http.close(() => r())));

it('answers /healthz always, /readyz once a snapshot is loaded, /metrics in Prometheus text', async () => {
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz`)).status).toBe(503);
  store.apply(buildSnapshot(testSnapshot('v9'), testCatalog));
  metrics.snapshotApplied('v9');
  const ready = await fetch(`${base}/readyz`);
  expect([ready.status, await ready.text()]).toEqual([200, 'ready: snapshot v9\n']);
  const text = await (await fetch(`${base}/metrics`)).text();
  expect(text).toContain('gatehouse_extproc_snapshot_info{version="v9"} 1');
  expect(text).toContain('gatehouse_extproc_active_streams');
  expect((await fetch(`${base}/nope`)).status).toBe(404);
});

describe.each(TRANSPORTS)('gRPC health over %s', (transport) => {
  type HealthClient = grpc.Client & {
    check: (req: object, cb: (err: grpc.ServiceError | null, res: { status: string }) => void) => void;
    watch: (req: object) => grpc.ClientReadableStream<{ status: string }>;
  };
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (addr: string, creds: grpc.ChannelCredentials) => HealthClient } } };
  };

  it('reports SERVING only once a snapshot is loaded (Check), NOT_FOUND for another service', async () => {
    const server: TestServer = await startTestServer({ transport, catalog: testCatalog });
    const health = new pkg.grpc.health.v1.Health(server.address, grpc.credentials.createInsecure());
    const check = (service = '') =>
      new Promise<string>((resolve, reject) =>
        health.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
      );
    expect(await check()).toBe('NOT_SERVING');
    server.apply(testSnapshot());
    expect(await check()).toBe('SERVING');
    expect(await check('envoy.service.ext_proc.v3.ExternalProcessor')).toBe('SERVING');
    await expect(check('other.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    health.close();
    await server.close();
  });

  it('streams status changes to Watch, NOT_SERVING at shutdown', async () => {
    const server: TestServer = await startTestServer({ transport, catalog: testCatalog });
    const health = new pkg.grpc.health.v1.Health(server.address, grpc.credentials.createInsecure());
    const seen: string[] = [];
    const watch = health.watch({ service: '' });
    watch.on('data', (r: { status: string }) => seen.push(r.status));
    watch.on('error', () => undefined);
    const until = async (condition: () => boolean) => {
      while (!condition()) await new Promise((r) => setTimeout(r, 5));
    };
    await until(() => seen.length === 1);
    server.apply(testSnapshot());
    await until(() => seen.length === 2);
    const unknown: string[] = [];
    const other = health.watch({ service: 'other.Service' });
    other.on('data', (r: { status: string }) => unknown.push(r.status));
    other.on('error', () => undefined);
    await until(() => unknown.length === 1);
    await server.close();
    // grpc-js may cut the call at the forced shutdown before NOT_SERVING is out; http2 sends it, then ends the call.
    expect(seen.slice(0, 2)).toEqual(['NOT_SERVING', 'SERVING']);
    if (transport === 'http2') expect(seen[2]).toBe('NOT_SERVING');
    expect(unknown).toEqual(['SERVICE_UNKNOWN']);
    watch.cancel();
    other.cancel();
    health.close();
  });
});
