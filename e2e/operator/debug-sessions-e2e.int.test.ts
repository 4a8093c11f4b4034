// A debug session end to end (docs/operations.md#debug-sessions): the real apiserver, the operator in
// kube mode, a `gatehouse extproc` process subscribed to it over xDS as a node of the DataPlane, and
// Envoy-style ext_proc streams (devproxy/src/ext-proc) carrying the requests. `gatehouse trace start`
// with --count 2 and a filter; 5 requests of which 3 match; exactly 2 transactions are captured and
// stored, the API key and the masked card number never appear in them, and `gatehouse trace get`
// prints both.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtProcClient, type ExternalProcessorClient } from '../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange } from '../../devproxy/src/ext-proc/exchange.ts';
import { parseOptions } from '../../lib/cli/command.ts';
import { debugCapture } from '../../operator/src/api/debugsession.ts';
import { traceCommand } from '../../operator/src/command.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { runTrace } from '../../operator/src/trace-command.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { freePort } from '../env/ports.ts';
import { writeAdminKubeconfig } from '../env/kubeconfig.ts';
import { Cluster, eventually, operatorKubeConfig, type Obj } from './kube.ts';

const root = new URL('../..', import.meta.url).pathname;
const tag = randomBytes(3).toString('hex');
const api = 'gatehouse.dev/v1alpha1';
const API_KEY = `k-Trace-${tag}-secret`;
const CARD = `4111${tag}1111`;
const basePath = `/dbg-orders-${tag}`;
const ours = (kind: string, namespace: string, name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: api,
  kind,
  metadata: { name, namespace },
  spec,
});

describe('a debug session through operator, extproc and devproxy', () => {
  const cluster = new Cluster();
  let operator: KubeOperator;
  let ns = '';
  let dir = '';
  let kubeconfig = '';
  let extproc: ChildProcess | undefined;
  let client: ExternalProcessorClient | undefined;
  const nodeId = `dbg-e2e-${tag}`;

  async function trace(...argv: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const code = await runTrace(parseOptions(traceCommand, [...argv, '--kubeconfig', kubeconfig, '-n', ns]), {
      write: (t: string) => (out += t),
    });
    return { code, out };
  }

  const request = (method: string, n: number) =>
    runExtProcExchange({
      client: client!,
      route: `${ns}/orders`,
      timeoutMs: 30_000,
      request: {
        method,
        path: `${basePath}/${n}`,
        authority: 'api',
        headers: [
          ['x-api-key', API_KEY],
          ['content-type', 'application/json'],
        ],
        body: Buffer.from(JSON.stringify({ card: { number: CARD }, n })),
      },
      upstream: () => ({ status: 200, headers: [], body: Buffer.from('{"ok":true}') }),
    });

  beforeAll(async () => {
    const platform = await cluster.operatorNamespace('dbge2e-platform');
    ns = await cluster.namespace('dbge2e-shop');
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: silentLog,
      namespace: platform,
      identity: `dbge2e-${tag}`,
      host: '127.0.0.1',
      xdsPort: 0,
      debounceMs: 20,
    });
    await eventually('the operator leads', () => operator.isLeader());
    for (const o of [
      ours('DataPlane', ns, 'edge', {
        listeners: [{ name: 'http', port: 8080, hostnames: [`${ns}.example.test`] }],
        debugMask: { requestJSONPaths: ['$.card.number'] },
      }),
      ours('ApiPolicy', ns, 'verify-key', {
        type: 'VerifyAPIKey',
        verifyAPIKey: { apiKey: { ref: 'request.header.x-api-key' } },
      }),
      ours('ApiProxy', ns, 'orders', {
        basePath,
        target: { url: 'http://127.0.0.1:9' },
        flows: { preFlow: { request: [{ policy: 'verify-key' }] } },
      }),
      ours('ApiProduct', ns, 'gold', { proxies: ['orders'], resources: ['/**'], approval: 'Auto' }),
      ours('DeveloperApp', ns, 'app', {
        developer: { email: 'dev@example.com' },
        products: [{ name: 'gold', status: 'Approved' }],
        credentials: [{ secretRef: { name: 'app-key' }, status: 'Approved' }],
      }),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'app-key', namespace: ns, labels: { 'gatehouse.dev/credential': 'true' } },
        stringData: { consumerKey: API_KEY, consumerSecret: `s-${tag}` },
      },
    ])
      await cluster.apply(o);

    // `gatehouse extproc` as a node of DataPlane ns/edge, subscribed to the operator.
    const [port, metricsPort] = [await freePort(), await freePort()];
    extproc = spawn(
      join(root, 'node_modules/.bin/node'),
      [
        join(root, 'bin/gatehouse.js'),
        'extproc',
        '--xds',
        `127.0.0.1:${operator.xdsPort}`,
        '--node-id',
        nodeId,
        '--node-cluster',
        `${ns}/edge/extproc`,
        '--port',
        String(port),
        '--metrics-port',
        String(metricsPort),
      ],
      { stdio: 'ignore', env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' } },
    );
    await eventually(
      'extproc is ready',
      async () => {
        if (extproc!.exitCode !== null) throw new Error(`gatehouse extproc exited with ${extproc!.exitCode}`);
        return fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      60_000,
      100,
    );
    client = createExtProcClient(`127.0.0.1:${port}`);
    // The key works before any session (the proxy, product and app are served).
    await eventually(
      'a request with the key passes',
      async () => (await request('GET', 0)).response.status === 200,
      60_000,
      200,
    );

    dir = mkdtempSync(join(tmpdir(), 'gatehouse-trace-e2e-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeAdminKubeconfig(kubeconfig, ns);
  }, 180_000);

  afterAll(async () => {
    client?.close();
    if (extproc && extproc.exitCode === null) {
      const exited = new Promise((resolve) => extproc!.once('exit', resolve));
      extproc.kill('SIGTERM');
      await exited;
    }
    await operator?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('captures exactly count of the matching transactions, masked, and trace get prints them', async () => {
    const started = await trace('start', 'orders', '--count', '2', '--filter', 'request.verb = "POST"');
    expect(started.code).toBe(0);
    const name = started.out.trim().split('/')[1]!;
    const uid = (await cluster.get('DebugSession', ns, name))!.metadata.uid!;
    // extproc holds the snapshot with the session: the node has applied the version that has it.
    await eventually(
      'extproc runs the snapshot with the session',
      () => {
        const state = operator.snapshots.current();
        const view = state?.snapshot.dataPlanes.find((d) => d.dataPlane === `${ns}/edge`);
        const has = view?.runtime.debugSessions?.some((s) => s.id === uid);
        return has && operator.controlPlane.registry.get(nodeId)?.syncedVersion === state!.version;
      },
      60_000,
    );

    // 5 requests, 3 of which match the filter (POST), one after the other.
    const statuses: number[] = [];
    for (const [i, method] of ['GET', 'POST', 'GET', 'POST', 'POST'].entries())
      statuses.push((await request(method, i + 1)).response.status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);

    const session = await eventually(
      'the session completes with 2 captured',
      async () => {
        const s = await cluster.get('DebugSession', ns, name);
        return s?.status?.phase === 'Completed' && s.status.captured === 2 ? s : undefined;
      },
      60_000,
    );
    expect(session.status?.captured).toBe(2);
    // The third POST's capture, if extproc reports it, finds no free slot: 2 Secrets, never more.
    const secrets = (
      await cluster.rest.list<{ type: string; data: Record<string, string> }>(`/api/v1/namespaces/${ns}/secrets`, {
        labelSelector: `${debugCapture.sessionUidLabel}=${uid}`,
      })
    ).items;
    expect(secrets).toHaveLength(2);
    const stored = secrets.map((s) => Buffer.from(s.data[debugCapture.dataKey]!, 'base64').toString('utf8'));
    for (const text of stored) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(CARD);
      const t = JSON.parse(text) as { points: { messageBefore?: { method?: string } }[] };
      expect(t.points.find((p) => p.messageBefore?.method)?.messageBefore?.method).toBe('POST');
    }

    const printed = await trace('get', name);
    expect(printed.code).toBe(0);
    expect(printed.out).toContain('phase:    Completed; captured 2 of 2');
    expect(printed.out).toContain('Transaction 1: POST');
    expect(printed.out).toContain('Transaction 2: POST');
    expect(printed.out).toContain('verify-key (VerifyAPIKey)');
    expect(printed.out).not.toContain(API_KEY);
    expect(printed.out).not.toContain(CARD);
    const json = JSON.parse((await trace('get', name, '-o', 'json')).out) as { transactions: unknown[] };
    expect(json.transactions).toHaveLength(2);
    expect(JSON.stringify(json)).not.toContain(API_KEY);
  });
});
