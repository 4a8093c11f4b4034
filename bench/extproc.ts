// `npm run bench:extproc`: ext_proc streams per second and latency (p50/p99) of
//   (a) a bare grpc-js ExternalProcessor that only CONTINUEs (the baseline, same run),
//   (b) Gatehouse with an empty flow,
//   (c) Gatehouse with VerifyAPIKey + AccessControl + JSONThreatProtection + AssignMessage,
// each over loopback for a bounded time. Targets: (b) >= 80% of (a)'s streams/s, (c) >= 60%.
//
// The driver runs in a worker thread, not in the server's event loop: on one thread the driver's
// own JavaScript (building and checking every exchange, like Envoy does) would compete with the
// server for the same core and the ratios would measure the driver as much as the server. A worker
// gives it its own core and V8 isolate, as Envoy is its own process. (Go would do too, but would
// need a toolchain build; worker threads use the same Envoy-side driver code as the tests.)
import { createHmac } from 'node:crypto';
import { availableParallelism } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import {
  externalProcessorService,
  type ProcessingRequest,
  type ProcessingResponse,
} from '../extproc/src/server/envoy-proto.ts';
import { createExtprocServer } from '../extproc/src/server/server.ts';
import { buildSnapshot } from '../extproc/src/server/test-server.test-support.ts';
import { SnapshotStore } from '../extproc/src/config/snapshot-store.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { percentile, runWorker } from './load-driver.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const HASH_KEY = '00112233445566778899aabbccddeeff';
const API_KEY = 'bench-key-123';

/** (a): answers every message with an empty reply of the matching type, ends when Envoy does. */
async function startBareServer(): Promise<{ port: number; close: () => void }> {
  const server = new grpc.Server();
  server.addService(externalProcessorService(), {
    process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      call.on('data', (msg: ProcessingRequest) => call.write({ [msg.request!]: {} }));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { port, close: () => server.forceShutdown() };
}

const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });

function snapshot(): RuntimeSnapshot {
  const keyHash = createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(API_KEY).digest('hex');
  return {
    version: 'bench',
    credentialHashKey: HASH_KEY,
    products: [{ namespace: 'bench', name: 'basic', proxies: ['chain'], resources: ['/**'], approval: 'Auto' }],
    apps: [
      {
        namespace: 'bench',
        name: 'app',
        status: 'Approved',
        products: [{ name: 'basic', status: 'Approved' }],
        credentials: [{ keyHash, status: 'Approved' }],
      },
    ],
    proxies: [
      { namespace: 'bench', name: 'empty', route: 'bench/empty', basePath: '/empty' },
      {
        namespace: 'bench',
        name: 'chain',
        route: 'bench/chain',
        basePath: '/chain',
        policies: {
          'verify-key': policy('VerifyAPIKey', { apiKey: { ref: 'request.header.x-api-key' } }),
          'check-ip': policy('AccessControl', {
            noRuleMatchAction: 'Allow',
            rules: [{ action: 'Deny', sourceAddresses: ['203.0.113.0/24'] }],
          }),
          'json-guard': policy('JSONThreatProtection', {
            containerDepth: 10,
            arrayElementCount: 100,
            objectEntryCount: 50,
            objectEntryNameLength: 64,
            stringValueLength: 1024,
          }),
          'add-headers': policy('AssignMessage', {
            assignTo: 'request',
            set: { headers: { 'x-served-by': 'gatehouse', 'x-app': '{developer.app.name}' } },
            remove: { headers: ['x-internal'] },
          }),
        },
        flows: {
          preFlow: {
            request: [
              { policy: 'check-ip' },
              { policy: 'verify-key' },
              { policy: 'json-guard' },
              { policy: 'add-headers' },
            ],
          },
        },
      },
    ],
  };
}

interface Row {
  name: string;
  rate: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  failed: number;
}

async function measure(name: string, address: string, route: string): Promise<Row> {
  const body = JSON.stringify({
    order: {
      id: 17,
      items: [
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 2 },
      ],
      note: 'bench',
    },
  });
  const r = await runWorker({
    address,
    route,
    concurrency: CONCURRENCY,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    request: {
      method: 'POST',
      path: `/${route.split('/')[1]}/orders`,
      headers: [
        ['content-type', 'application/json'],
        ['x-api-key', API_KEY],
        ['content-length', String(body.length)],
      ],
      body,
    },
  });
  const sorted = r.latenciesMs.sort((a, b) => a - b);
  return {
    name,
    rate: r.completed / (DURATION_MS / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    statuses: r.statuses,
    failed: r.failed,
  };
}

const bare = await startBareServer();
const store = new SnapshotStore();
store.apply(buildSnapshot(snapshot()));
const stores = createMemoryStores();
const gatehouse = createExtprocServer({ snapshots: store, stores, log: pino({ level: 'silent' }) });
const port = await gatehouse.listen('127.0.0.1', 0);

process.stdout.write(
  `ext_proc bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} streams in flight, ` +
    `driver in a worker thread, ${availableParallelism()} cores; each stream = request headers + buffered JSON body + response headers\n\n`,
);
const rows: Row[] = [];
rows.push(await measure('(a) bare grpc-js, CONTINUE only', `127.0.0.1:${bare.port}`, 'bench/empty'));
rows.push(await measure('(b) gatehouse, empty flow', `127.0.0.1:${port}`, 'bench/empty'));
rows.push(await measure('(c) gatehouse, 4-policy chain', `127.0.0.1:${port}`, 'bench/chain'));

const baseline = rows[0]!.rate;
const targets = [undefined, 0.8, 0.6];
process.stdout.write(
  `${'case'.padEnd(34)} ${'streams/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'ratio'.padStart(7)}  target  statuses\n`,
);
rows.forEach((row, i) => {
  const ratio = row.rate / baseline;
  const target = targets[i];
  const verdict =
    target === undefined ? '      ' : `${ratio >= target ? 'ok' : 'MISS'} ${Math.round(target * 100)}%`.padEnd(6);
  process.stdout.write(
    `${row.name.padEnd(34)} ${row.rate.toFixed(0).padStart(10)} ${row.p50.toFixed(2).padStart(8)} ${row.p99.toFixed(2).padStart(8)} ${(ratio * 100).toFixed(0).padStart(6)}%  ${verdict}  ${JSON.stringify(row.statuses)}${row.failed ? ` failed=${row.failed}` : ''}\n`,
  );
});

bare.close();
await gatehouse.shutdown(1000);
await stores.close();
