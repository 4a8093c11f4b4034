import { afterAll, beforeAll, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import type { Server } from 'node:http';
import { SnapshotStore } from '../config/snapshot-store.ts';
import { testCatalog, testSnapshot } from './fixtures.test-support.ts';
import { createHealthServer, listenHttp } from './http.ts';
import { ExtprocMetrics } from './metrics.ts';
import { buildSnapshot, startTestServer, type TestServer } from './test-server.test-support.ts';

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

it('reports gRPC health SERVING only once a snapshot is loaded', async () => {
  const server: TestServer = await startTestServer({ catalog: testCatalog });
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, { enums: String })) as unknown as {
    grpc: {
      health: {
        v1: {
          Health: new (
            addr: string,
            creds: grpc.ChannelCredentials,
          ) => grpc.Client & { check: (req: object, cb: (err: Error | null, res: { status: string }) => void) => void };
        };
      };
    };
  };
  const health = new pkg.grpc.health.v1.Health(server.address, grpc.credentials.createInsecure());
  const check = () =>
    new Promise<string>((resolve, reject) =>
      health.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res.status))),
    );
  expect(await check()).toBe('NOT_SERVING');
  server.apply(testSnapshot());
  expect(await check()).toBe('SERVING');
  health.close();
  await server.close();
});
