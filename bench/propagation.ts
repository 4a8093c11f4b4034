// `npm run bench:propagation`: configuration propagation time (docs/architecture.md#tests-and-quality-bars) from a manifest change on
// disk to every subscribed node ACKing the new version. `gatehouse operator --manifests` runs as a
// child process on a generated folder of 1,000 proxies (5,000 policies, 1,000 apps); three nodes
// subscribe: two `gatehouse extproc --xds` child processes (each decodes the runtime snapshot and
// compiles every proxy's flows before it ACKs) and one raw ADS client that ACKs CDS, LDS and RDS as
// Envoy would. One manifest is
// then rewritten 100 times (a policy and a route timeout), each time waiting for the operator's
// /debug/nodes to show all three nodes synced to the new version. Target: p99 < 2 s.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { adsClient, typeUrls } from '../operator/src/xds/protos.ts';
import { buildFixture } from './compile-fixture.ts';

const changes = Number(process.env.BENCH_CHANGES ?? 100);
const proxies = 1000;
const root = new URL('..', import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-propagation-'));
const objects = buildFixture({ proxies, apps: 1000 }).map((o) => o.object);
for (let f = 0; f < 10; f++) {
  writeFileSync(
    join(dir, `part-${f}.yaml`),
    objects
      .filter((_, i) => i % 10 === f)
      .map((o) => stringify(o))
      .join('---\n'),
  );
}
const changing = (n: number) =>
  [
    {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiProxy',
      metadata: { name: 'changing', namespace: 'bench' },
      spec: {
        basePath: '/changing',
        target: { url: 'http://127.0.0.1:9090', timeout: `${10 + (n % 50)}s` },
        flows: { postFlow: { response: [{ policy: 'stamp' }] } },
      },
    },
    {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiPolicy',
      metadata: { name: 'stamp', namespace: 'bench' },
      spec: {
        type: 'AssignMessage',
        assignMessage: { assignTo: 'response', set: { headers: { 'x-change': String(n) } } },
      },
    },
  ]
    .map((o) => stringify(o))
    .join('---\n');
writeFileSync(join(dir, 'changing.yaml'), changing(0));

const [xdsPort, metricsPort] = [await freePort(), await freePort()];
const gatehouse = (args: string[], env: Record<string, string> = {}) =>
  spawn(join(root, 'node_modules/.bin/node'), [join(root, 'bin/gatehouse.js'), ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { GATEHOUSE_LOG_LEVEL: 'error', ...process.env, ...env },
  });
const operator = gatehouse([
  'operator',
  '--manifests',
  dir,
  '--xds-port',
  String(xdsPort),
  '--metrics-port',
  String(metricsPort),
]);
const children = [operator];
const debugUrl = `http://127.0.0.1:${metricsPort}/debug/nodes`;

interface Debug {
  version: string | null;
  nodes: Array<{ id: string; syncedVersion?: string }>;
}
async function debug(): Promise<Debug | undefined> {
  try {
    return (await (await fetch(debugUrl)).json()) as Debug;
  } catch {
    return undefined;
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every node runs a version other than `previous`, the one the operator now serves. */
async function allSynced(nodes: number, previous: string | null, timeoutMs = 60_000): Promise<string> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(5)) {
    const d = await debug();
    if (
      d?.version &&
      d.version !== previous &&
      d.nodes.length === nodes &&
      d.nodes.every((n) => n.syncedVersion === d.version)
    )
      return d.version;
  }
  throw new Error(`nodes did not converge within ${timeoutMs} ms`);
}

let envoy: ReturnType<typeof adsClient> | undefined;
try {
  for (let start = Date.now(); (await debug())?.version == null; await sleep(100)) {
    if (Date.now() - start > 120_000) throw new Error('the operator did not start');
  }
  for (const id of ['extproc-a', 'extproc-b']) {
    children.push(
      gatehouse(['extproc', '--xds', `127.0.0.1:${xdsPort}`, '--port', '0', '--metrics-port', '0'], {
        GATEHOUSE_NODE_ID: id,
      }),
    );
  }
  envoy = adsClient(`127.0.0.1:${xdsPort}`, { 'grpc.max_receive_message_length': -1 });
  const stream = envoy.StreamAggregatedResources();
  stream.on('data', (r: { typeUrl: string; versionInfo: string; nonce: string }) => {
    stream.write({
      typeUrl: r.typeUrl,
      versionInfo: r.versionInfo,
      responseNonce: r.nonce,
      resourceNames: r.typeUrl === typeUrls.route ? ['default/default/http'] : [],
    });
  });
  stream.on('error', () => undefined);
  stream.write({ node: { id: 'envoy-raw', cluster: 'bench' }, typeUrl: typeUrls.cluster });
  stream.write({ typeUrl: typeUrls.listener });
  stream.write({ typeUrl: typeUrls.route, resourceNames: ['default/default/http'] });
  let version = await allSynced(3, null);

  const warmUp = 3;
  const times: number[] = [];
  for (let n = 1; n <= changes + warmUp; n++) {
    const started = performance.now();
    writeFileSync(join(dir, 'changing.yaml'), changing(n));
    version = await allSynced(3, version);
    if (n > warmUp) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => {
    const t = times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];
    if (t === undefined) throw new Error('no changes were timed: BENCH_CHANGES must be at least 1');
    return t;
  };
  const ms = (x: number) => `${Math.round(x)} ms`;
  process.stdout.write(
    [
      `propagation: ${proxies} proxies + 1 changing, ${changes} changes (after ${warmUp} warm-up), 3 nodes (2 "gatehouse extproc --xds" processes, 1 raw ADS client on CDS/LDS/RDS)`,
      `  write -> every node ACKed: p50 ${ms(pct(50))}, p99 ${ms(pct(99))}, max ${ms(pct(100))}, mean ${ms(times.reduce((a, b) => a + b, 0) / times.length)}`,
      `  target p99 < 2000 ms: ${pct(99) < 2000 ? 'met' : 'NOT met'}`,
    ].join('\n') + '\n',
  );
} finally {
  envoy?.close();
  for (const child of children) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
