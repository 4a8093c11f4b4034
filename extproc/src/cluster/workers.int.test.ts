// `gatehouse extproc --workers 2` as a pod runs it: real processes (bin/gatehouse.js), the shared test
// Redis, a snapshot file or a real `gatehouse operator --manifests` as the xDS server. Both workers take
// connections on the one port, a snapshot change reaches both, /metrics is the sum over the workers, a
// killed worker is restarted while the other serves, SIGTERM drains a stream in flight, the operator sees
// one node, and refused configurations say why. Names, hosts and base paths: workers-int-*.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExtProcClient, type ExternalProcessorClient } from '../../../devproxy/src/ext-proc/client.ts';
import { ENV } from '../../../e2e/env/env.ts';
import { freePort } from '../../../e2e/env/ports.ts';
import { compileSnapshot, get } from '../../../e2e/traffic/extproc-process.ts';

const root = new URL('../../..', import.meta.url).pathname;
const node = join(root, 'node_modules/.bin/node');
const bin = join(root, 'bin/gatehouse.js');
const redisUrl = process.env[ENV.redisUrl]!;

const proxy = (name: string) => `
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ${name}, namespace: workers-int}
spec:
  basePath: /${name}
  target: {url: "http://127.0.0.1:9"}
`;

interface Extproc {
  proc: ChildProcess;
  port: number;
  metricsPort: number;
  output: () => string;
  exited: Promise<number | null>;
}

const started: Extproc[] = [];
const clients: ExternalProcessorClient[] = [];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-workers-int-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const e of started.splice(0)) {
    if (e.proc.exitCode === null && e.proc.signalCode === null) e.proc.kill('SIGKILL');
    await e.exited;
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Compiles `manifests` in a folder of their own (compile reads every file of its folder). */
const compile = (manifests: string) => compileSnapshot(mkdtempSync(join(dir, 'c-')), manifests);

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startExtproc(args: string[]): Promise<Extproc> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  let out = '';
  const proc = spawn(node, [bin, 'extproc', '--port', String(port), '--metrics-port', String(metricsPort), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' },
  });
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const e = { proc, port, metricsPort, output: () => out, exited };
  started.push(e);
  await until('/readyz', async () => {
    if (proc.exitCode !== null) throw new Error(`extproc exited ${proc.exitCode}:\n${out}`);
    return fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
  });
  return e;
}

/** Sum of a series' samples whose line starts with `prefix` (name and, if given, labels). */
async function metric(e: Extproc, prefix: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${e.metricsPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

/** A client on a connection of its own (grpc-js would share one between clients of one address). */
function client(e: Extproc): ExternalProcessorClient {
  const c = createExtProcClient(`127.0.0.1:${e.port}`, { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(c);
  return c;
}

/** The worker processes of a primary, from /proc. */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

describe('gatehouse extproc --workers 2', () => {
  it('serves one port from both workers, hands a new snapshot to both, and sums their metrics', async () => {
    const snapshot = compile(proxy('workers-int-a'));
    const e = await startExtproc(['--snapshot', snapshot, '--workers', '2', '--redis', redisUrl]);
    expect(await (await fetch(`http://127.0.0.1:${e.metricsPort}/readyz`)).text()).toMatch(/workers serving 2\/2/);

    // The kernel's connections go round-robin to the workers: six connections, both get some.
    const conns = Array.from({ length: 6 }, () => client(e));
    const sent = 4 * conns.length;
    for (let i = 0; i < 4; i++)
      for (const r of await Promise.all(conns.map((c) => get(c, 'workers-int/workers-int-a', '/workers-int-a/x', []))))
        expect(r.response.status).toBe(200);
    await until('every stream counted', async () => (await metric(e, 'gatehouse_extproc_streams_total')) === sent);
    const w1 = await metric(e, 'gatehouse_extproc_worker_streams_total{worker="1"}');
    const w2 = await metric(e, 'gatehouse_extproc_worker_streams_total{worker="2"}');
    expect(w1).toBeGreaterThan(0);
    expect(w2).toBeGreaterThan(0);
    expect(w1 + w2).toBe(sent);
    // Per proxy too, and the snapshot is the pod's: loaded once, by the primary.
    expect(await metric(e, 'gatehouse_extproc_proxy_requests_total{proxy="workers-int/workers-int-a"}')).toBe(sent);
    expect(await metric(e, 'gatehouse_extproc_snapshot_loads_total{result="applied"}')).toBe(1);
    expect(await metric(e, 'gatehouse_extproc_phase_duration_seconds_count')).toBeGreaterThanOrEqual(sent);
    expect(await metric(e, 'gatehouse_extproc_workers{state="serving"}')).toBe(2);

    // A new proxy: both workers serve it (each connection is one worker's).
    renameSync(compile(proxy('workers-int-a') + '---\n' + proxy('workers-int-b')), snapshot);
    const version = (JSON.parse(readFileSync(snapshot, 'utf8')) as { runtime: { version: string } }).runtime.version;
    await until(
      'both workers on the new snapshot',
      async () =>
        (await metric(e, `gatehouse_extproc_worker_snapshot_info{worker="1",version="${version}"}`)) === 1 &&
        (await metric(e, `gatehouse_extproc_worker_snapshot_info{worker="2",version="${version}"}`)) === 1,
    );
    for (const r of await Promise.all(conns.map((c) => get(c, 'workers-int/workers-int-b', '/workers-int-b/x', []))))
      expect(r.response.status).toBe(200);
    // Logs carry the worker: 0 the primary, 1..N the workers.
    const workersLogged = new Set(
      e
        .output()
        .split('\n')
        .filter((l) => l.includes('runtime snapshot applied'))
        .map((l) => (JSON.parse(l) as { worker: number }).worker),
    );
    expect([...workersLogged].sort()).toEqual([0, 1, 2]);
  });

  it('restarts a killed worker, counted, while the other keeps answering and the pod stays ready', async () => {
    const snapshot = compile(proxy('workers-int-a'));
    const e = await startExtproc(['--snapshot', snapshot, '--workers', '2', '--redis', redisUrl]);
    const [victim, survivor] = childrenOf(e.proc.pid!);
    expect(survivor).toBeDefined();
    process.kill(victim!, 'SIGKILL');
    await until('the restart counted', async () => (await metric(e, 'gatehouse_extproc_worker_restarts_total')) === 1);
    // Meanwhile new connections are answered (the dead worker takes none) and /readyz stays 200.
    const r = await get(client(e), 'workers-int/workers-int-a', '/workers-int-a/x', []);
    expect(r.response.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${e.metricsPort}/readyz`)).status).toBe(200);
    await until(
      'both serving again',
      async () => (await metric(e, 'gatehouse_extproc_workers{state="serving"}')) === 2,
    );
    expect(childrenOf(e.proc.pid!)).not.toContain(victim);
    expect(childrenOf(e.proc.pid!)).toContain(survivor);
    expect(e.output()).toMatch(/"worker":\d,.*"signal":"SIGKILL".*worker died; restarting it/);
  });

  it('SIGTERM drains: a stream in flight is answered, new connections are refused, every process exits 0', async () => {
    const snapshot = compile(proxy('workers-int-a'));
    const e = await startExtproc(['--snapshot', snapshot, '--workers', '2', '--redis', redisUrl]);
    const workers = childrenOf(e.proc.pid!);
    const c = client(e);
    const metadata = new grpc.Metadata();
    metadata.set('x-gatehouse-route', 'workers-int/workers-int-a');
    const stream = c.process(metadata);
    const replies: unknown[] = [];
    stream.on('data', (m: unknown) => replies.push(m));
    stream.on('error', () => undefined);
    const header = (key: string, value: string) => ({ key, rawValue: Buffer.from(value) });
    stream.write({
      requestHeaders: {
        headers: {
          headers: [
            header(':method', 'GET'),
            header(':path', '/workers-int-a/x'),
            header(':authority', 'api'),
            header(':scheme', 'http'),
          ],
        },
        endOfStream: true,
      },
    });
    await until('the request headers answered', () => replies.length === 1 || undefined);
    e.proc.kill('SIGTERM');
    const refused = () =>
      new Promise<boolean>((resolve) => {
        const s = connect(e.port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(false)));
        s.once('error', () => resolve(true));
      });
    await until('the port closed to new connections', refused);
    stream.write({ responseHeaders: { headers: { headers: [header(':status', '200')] }, endOfStream: true } });
    await until('the response headers answered', () => replies.length === 2 || undefined);
    stream.end();
    expect(await e.exited).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  });

  it('subscribes once per pod: the operator sees one node, whose snapshot both workers serve', async () => {
    const manifests = mkdtempSync(join(dir, 'manifests-'));
    writeFileSync(join(manifests, 'proxy.yaml'), proxy('workers-int-x'));
    const [xdsPort, operatorMetrics] = [await freePort(), await freePort()];
    const operator = spawn(
      node,
      [
        bin,
        'operator',
        '--manifests',
        manifests,
        '--xds-port',
        String(xdsPort),
        '--metrics-port',
        String(operatorMetrics),
      ],
      { stdio: 'ignore', env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' } },
    );
    try {
      const e = await startExtproc([
        '--xds',
        `127.0.0.1:${xdsPort}`,
        '--node-id',
        'workers-int-pod',
        '--workers',
        '2',
        '--redis',
        redisUrl,
      ]);
      const nodes = await until('the node registered', async () => {
        const list = (
          (await fetch(`http://127.0.0.1:${operatorMetrics}/debug/nodes`).then(
            (r) => r.json(),
            () => undefined,
          )) as { nodes: Array<{ id: string; streams: number }> } | undefined
        )?.nodes;
        return list?.some((n) => n.id === 'workers-int-pod') ? list : undefined;
      });
      expect(nodes.filter((n) => n.id.startsWith('workers-int'))).toEqual([
        expect.objectContaining({ id: 'workers-int-pod', streams: 1 }),
      ]);
      expect(await metric(e, 'gatehouse_extproc_worker_snapshot_info{worker="1"')).toBe(1);
      expect(await metric(e, 'gatehouse_extproc_worker_snapshot_info{worker="2"')).toBe(1);
      const conns = [client(e), client(e)];
      for (const r of await Promise.all(conns.map((c) => get(c, 'workers-int/workers-int-x', '/workers-int-x/y', []))))
        expect(r.response.status).toBe(200);
    } finally {
      operator.kill('SIGKILL');
    }
  });

  it('exits 1 when its workers cannot start (a certificate that does not parse), rather than restarting them forever', async () => {
    const snapshot = compile(proxy('workers-int-a'));
    const bad = join(dir, 'not-a-certificate.pem');
    writeFileSync(bad, 'not a certificate\n');
    const [port, metricsPort] = [await freePort(), await freePort()];
    const args = ['--port', String(port), '--metrics-port', String(metricsPort), '--snapshot', snapshot];
    const proc = spawn(
      node,
      [bin, 'extproc', ...args, '--workers', '2', '--redis', redisUrl, '--tls-cert', bad, '--tls-key', bad],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' } },
    );
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    started.push({ proc, port, metricsPort, output: () => out, exited }); // killed after a failure
    expect(await exited).toBe(1);
    expect(out).toMatch(/a worker died before serving, again and again: it cannot start/);
    // Every worker it forked is gone with it.
    expect(out).toMatch(/extproc stopped/);
  });

  it('refuses --workers 2 without Redis and --workers 0, saying why, before starting anything', () => {
    const snapshot = compile(proxy('workers-int-a'));
    const env = { ...process.env, GATEHOUSE_REDIS_URL: undefined };
    const noRedis = spawnSync(node, [bin, 'extproc', '--snapshot', snapshot, '--workers', '2'], {
      env,
      encoding: 'utf8',
    });
    expect(noRedis.status).toBe(2);
    expect(noRedis.stderr).toMatch(/--workers 2 needs --redis/);
    const zero = spawnSync(node, [bin, 'extproc', '--snapshot', snapshot, '--workers', '0'], { env, encoding: 'utf8' });
    expect(zero.status).toBe(2);
    expect(zero.stderr).toMatch(/--work-threads/);
  });
});
