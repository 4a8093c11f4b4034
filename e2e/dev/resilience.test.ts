// Distribution under steady, bounded loopback traffic, with every part a real process: a manifest
// change switches with no failed request; the control plane killed, traffic keeps flowing on the
// last config; extproc restarted while the control plane is down boots from its --cache-dir and
// serves; the control plane back, every node converges to the newest version.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../env/eventually.ts';
import { freePort } from '../env/ports.ts';
import { send, type Reply } from './harness.ts';
import { gatehouse, nodeScript, until, type Command } from './processes.ts';

let dir: string;
let ports: Record<'listener' | 'xds' | 'extproc' | 'metrics' | 'upstream', number>;
let operator: Command;
let extproc: Command;
let devproxy: Command;
let upstream: Command;

/** Revision `rev` of the manifests: the proxy stamps it on responses (extproc) and serves under /rev (devproxy's routes). */
function writeManifests(rev: string): void {
  writeFileSync(
    join(dir, 'manifests.yaml'),
    `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: ${ports.listener}, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  # Generous: these tests count failed requests across config changes and restarts, not latency,
  # and every part is a process of its own on a shared machine.
  messageTimeout: 5s
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: api, namespace: e2e}
spec:
  basePath: /api
  target: {url: "http://127.0.0.1:${ports.upstream}"}
  flows: {postFlow: {response: [{policy: stamp}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: rev, namespace: e2e}
spec:
  basePath: /${rev}
  target: {url: "http://127.0.0.1:${ports.upstream}"}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: stamp, namespace: e2e}
spec: {type: AssignMessage, assignMessage: {assignTo: response, set: {headers: {x-rev: ${rev}}}}}
`,
  );
}

const startOperator = () =>
  gatehouse([
    'operator',
    '--manifests',
    dir,
    '--xds-port',
    String(ports.xds),
    '--metrics-port',
    '0',
    '--extproc-address',
    `127.0.0.1:${ports.extproc}`,
  ]);
const startExtproc = () =>
  gatehouse([
    'extproc',
    '--xds',
    `127.0.0.1:${ports.xds}`,
    '--port',
    String(ports.extproc),
    '--metrics-port',
    String(ports.metrics),
    '--cache-dir',
    join(dir, 'cache'),
  ]);
const api = () => send(`http://127.0.0.1:${ports.listener}/api/x`);

/** Bounded traffic: one request at a time, every 20 ms, recording every reply (at most 10,000). */
function traffic() {
  const replies: Array<Reply | Error> = [];
  let running = true;
  const done = (async () => {
    while (running && replies.length < 10_000) {
      replies.push(await api().catch((err: Error) => err));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    replies,
    failures: () =>
      replies
        .filter((r) => r instanceof Error || r.status !== 200)
        .map((r) => (r instanceof Error ? r.message : `${r.status} ${r.body}`)),
    revs: () => new Set(replies.flatMap((r) => (r instanceof Error ? [] : [String(r.headers['x-rev'])]))),
    /** Resolves once `n` more replies than now have come in (traffic that saw the state reached so far). */
    more: (n: number, what: string) => {
      const target = replies.length + n;
      return eventually(what, () => replies.length >= target, 60_000);
    },
    stop: async () => {
      running = false;
      await done;
    },
  };
}

beforeAll(async () => {
  const [listener, xds, extprocPort, metrics, upstreamPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  ports = { listener, xds, extproc: extprocPort, metrics, upstream: upstreamPort };
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-resilience-'));
  writeManifests('v1');
  upstream = nodeScript(fileURLToPath(new URL('./echo-child.ts', import.meta.url)), [String(ports.upstream)]);
  operator = startOperator();
  extproc = startExtproc();
  devproxy = gatehouse(['devproxy', '--xds', `127.0.0.1:${ports.xds}`, '--node', 'resilience', '--admin-port', '0']);
  await until(devproxy, 'the first config to serve', async () => (await api()).headers['x-rev'] === 'v1', 60_000);
}, 90_000);

afterAll(async () => {
  await Promise.all([devproxy, extproc, operator, upstream].map((c) => c?.stop()));
  rmSync(dir, { recursive: true, force: true });
});

it('switches to an edited manifest with no failed request', async () => {
  const load = traffic();
  await load.more(5, 'traffic on v1');
  writeManifests('v2');
  await until(
    operator,
    'v2 to serve',
    () => {
      const last = load.replies.at(-1);
      return Promise.resolve(last !== undefined && !(last instanceof Error) && last.headers['x-rev'] === 'v2');
    },
    60_000,
  );
  await until(
    devproxy,
    'the new route',
    async () => (await send(`http://127.0.0.1:${ports.listener}/v2/x`)).status === 200,
    60_000,
  );
  await load.more(5, 'traffic on v2');
  await load.stop();
  expect(load.failures()).toEqual([]);
  expect(load.revs()).toEqual(new Set(['v1', 'v2']));
}, 150_000);

it('keeps serving the last config with the control plane killed, and extproc restarts from its cache', async () => {
  await operator.stop('SIGKILL');
  const load = traffic();
  await load.more(10, 'traffic with the control plane down');
  await load.stop();
  expect(load.failures()).toEqual([]);
  expect(load.revs()).toEqual(new Set(['v2']));

  await extproc.stop();
  extproc = startExtproc();
  let readyz = '';
  await until(
    extproc,
    'extproc ready',
    async () => {
      const r = await fetch(`http://127.0.0.1:${ports.metrics}/readyz`);
      readyz = await r.text();
      return r.ok;
    },
    60_000,
  );
  expect(readyz).toMatch(/cache/i);
  // Ready is not serving yet: devproxy reconnects to the new process and its first stream runs
  // cold code. Serving is a request that made it through.
  await until(extproc, 'a request through the restarted extproc', async () => (await api()).status === 200, 60_000);
  const after = traffic();
  await after.more(10, 'traffic through the restarted extproc');
  await after.stop();
  expect(after.failures()).toEqual([]);
  expect(after.revs()).toEqual(new Set(['v2']));
}, 150_000);

it('converges every node to the newest version when the control plane is back', async () => {
  writeManifests('v3'); // changed while the control plane is down
  operator = startOperator();
  const load = traffic();
  await until(
    operator,
    'extproc and devproxy on v3',
    async () => {
      const [stamped, routed] = await Promise.all([api(), send(`http://127.0.0.1:${ports.listener}/v3/x`)]);
      return stamped.headers['x-rev'] === 'v3' && routed.status === 200;
    },
    90_000,
  );
  await load.stop();
  expect(load.failures()).toEqual([]);
  expect((await send(`http://127.0.0.1:${ports.listener}/v2/x`)).status).toBe(404);
}, 150_000);
