// `npm run bench:servicecallout`: CPU per request and latency (p50, p99) of a ServiceCallout to a
// local upstream (plain HTTP and HTTPS with the CA from a Secret, pooled keep-alive connections)
// against the empty flow (the same PolicyContext per request, no step), in the same run. The upstream
// runs in a child process, so this process's CPU is the gateway's side only: building the request,
// the egress client, parsing the response into the response variable. Requests run one at a time
// and, in a second pass, 16 at a time.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { decodeRuntimeSnapshot } from '../extproc/src/config/decode.ts';
import { SnapshotRuntimeIndex } from '../extproc/src/config/runtime-index.ts';
import { EgressClient } from '../extproc/src/egress/client.ts';
import { Exchange } from '../extproc/src/flow/exchange.ts';
import { createRequestMessage } from '../extproc/src/flow/message.ts';
import type { PolicyStep } from '../extproc/src/flow/types.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { serviceCalloutPolicy } from '../extproc/src/policies/extension/service-callout.ts';
import { createCa, issueLeaf } from '../e2e/tls/pki.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3_000);

/** The upstream, in its own process: answers every request with a small JSON body. */
const UPSTREAM = `
const tls = process.env.CERT ? require('node:https') : require('node:http');
const options = process.env.CERT ? { cert: process.env.CERT, key: process.env.KEY } : {};
const body = JSON.stringify({ tier: 'gold', limits: { daily: 1000 } });
const server = tls.createServer(options, (req, res) => {
  req.resume();
  req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(body); });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startUpstream(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', UPSTREAM], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

interface Case {
  name: string;
  step?: PolicyStep;
}

interface Result {
  name: string;
  requests: number;
  cpuUsPerRequest: number;
  p50Ms: number;
  p99Ms: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function main(): Promise<void> {
  const ca = await createCa('bench-callout-ca');
  const leaf = await issueLeaf(ca, 'localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
  const [http, https] = await Promise.all([startUpstream({}), startUpstream({ CERT: leaf.cert, KEY: leaf.key })]);
  const decoded = decodeRuntimeSnapshot({
    version: 'bench',
    proxies: [{ namespace: 'bench', name: 'orders', route: 'bench/orders', basePath: '/orders' }],
    dataPlanes: [{ namespace: 'bench', name: 'dp', calloutPrivateNetworks: ['127.0.0.0/8'] }],
    policySecrets: { 'bench/callout-ca/ca.crt': ca.cert },
  });
  const runtime = new SnapshotRuntimeIndex(decoded);
  const stores = createMemoryStores();
  const log = pino({ level: 'silent' });
  const egress = new EgressClient();
  const meta = { namespace: 'bench', name: 'SC-Lookup' };
  const request = {
    variable: 'lookupRequest',
    set: { headers: { 'x-customer': '{request.header.x-customer}' }, queryParams: { id: '{request.queryparam.id}' } },
  };
  const cases: Case[] = [
    { name: 'empty flow' },
    {
      name: 'ServiceCallout http',
      step: serviceCalloutPolicy.create(
        { request, response: 'lookup', httpTargetConnection: { url: `http://127.0.0.1:${http.port}/tiers` } },
        meta,
      ),
    },
    {
      name: 'ServiceCallout https (CA from a Secret)',
      step: serviceCalloutPolicy.create(
        {
          request,
          response: 'lookup',
          httpTargetConnection: {
            url: `https://localhost:${https.port}/tiers`,
            sslInfo: { trustStore: { secretRef: { name: 'callout-ca', key: 'ca.crt' } } },
          },
        },
        meta,
      ),
    },
  ];

  /** One request: its PolicyContext as extproc builds one per stream, then the step, if any. */
  const once1 = async (c: Case) => {
    const exchange = new Exchange({
      request: createRequestMessage({
        method: 'GET',
        path: '/orders/items?id=42',
        scheme: 'https',
        authority: 'api.test',
        headers: { 'x-customer': 'c-42' },
      }),
      proxy: decoded.proxies[0]!,
      runtime,
      stores,
      egress,
      log,
      now: Date.now,
      environmentName: 'bench',
      messageId: 'bench',
      client: { ip: '127.0.0.1', cn: '' },
    });
    const ctx = exchange.context('request');
    if (c.step) await c.step(ctx);
  };

  async function measure(c: Case, concurrency: number): Promise<Result> {
    for (let i = 0; i < 200; i++) await once1(c); // warm up: JIT, the pool's connection and handshake
    const latencies: number[] = [];
    const cpu = process.cpuUsage();
    const deadline = Date.now() + DURATION_MS;
    const worker = async () => {
      while (Date.now() < deadline) {
        const t = performance.now();
        await once1(c);
        latencies.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const used = process.cpuUsage(cpu);
    latencies.sort((a, b) => a - b);
    return {
      name: c.name,
      requests: latencies.length,
      cpuUsPerRequest: (used.user + used.system) / latencies.length,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
    };
  }

  for (const concurrency of [1, 16]) {
    const results: Result[] = [];
    for (const c of cases) results.push(await measure(c, concurrency));
    const base = results[0]!;
    console.log(
      `\n${concurrency} in flight, ${DURATION_MS} ms per case (BENCH_DURATION_MS to change); upstream in a child process:`,
    );
    for (const r of results)
      console.log(
        `  ${r.name.padEnd(40)} CPU ${r.cpuUsPerRequest.toFixed(1).padStart(7)} µs/req (x${(r.cpuUsPerRequest / base.cpuUsPerRequest).toFixed(1)} of empty)   p50 ${r.p50Ms.toFixed(3)} ms   p99 ${r.p99Ms.toFixed(3)} ms   (${r.requests} requests)`,
      );
  }
  console.log(
    `\nconnections opened by the egress client: ${egress.stats().connections} (pools: ${egress.stats().pools})`,
  );
  egress.close();
  http.child.kill();
  https.child.kill();
}

await main();
