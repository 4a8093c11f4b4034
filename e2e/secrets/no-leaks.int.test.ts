// Attack: read what operators are allowed to read: object status and Events (kubectl get -o yaml),
// the Deployments and ConfigMaps the operator writes,
// the operator's and extproc's logs, the operator's /debug, /readyz and /metrics, and the snapshot
// (gatehouse compile's output, what the operator publishes). None of them may carry a consumer key or
// secret, the credential hash key, or a password, whether it was given properly (a Secret) or written
// inline by mistake (refused objects have status too). The one secret a snapshot carries by design is
// the value a BasicAuthentication Encode sends upstream, in runtime.policySecrets and nowhere else.
//
// The examples plus a BasicAuthentication, a DeveloperApp and some objects with inline secrets run
// through the operator in kube mode (logging at trace level, managing DataPlane workloads), data-plane nodes ACKing and NACKing over xDS and the
// real ext_proc server serving the published snapshot to real requests; and through gatehouse compile.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRuntimeSnapshot } from '../../extproc/src/config/decode.ts';
import { loadSnapshot } from '../../extproc/src/config/snapshot.ts';
import { SnapshotStore } from '../../extproc/src/config/snapshot-store.ts';
import { createHealthServer } from '../../extproc/src/server/http.ts';
import { createExtprocServer, type ExtprocServer } from '../../extproc/src/server/server.ts';
import { createMemoryStores } from '../../extproc/src/stores/memory.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { listenHttp } from '../../operator/src/xds/http.ts';
import { createExtProcClient, type ExternalProcessorClient } from '../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange } from '../../devproxy/src/ext-proc/exchange.ts';
import {
  ackingNode,
  Cluster,
  credentialKeySecret,
  eventually,
  operatorKubeConfig,
  type Obj,
} from '../operator/kube.ts';

const root = new URL('../..', import.meta.url).pathname;
const tag = randomBytes(4).toString('hex');

const secrets = {
  credentialKey: `ck-Install-${tag}`,
  consumerKey: `k-Leak-${tag}`,
  consumerSecret: `s-Leak-${tag}`,
  examplesKey: 'k-123',
  examplesSecret: 's-456',
  wrongKey: `k-Guess-${tag}`,
  inlinePassword: `pw-Inline-${tag}`,
  urlPassword: `pw-Url-${tag}`,
  redisPassword: `pw-Redis-${tag}`,
};
/** Given properly (a Secret), sent upstream by BasicAuthentication Encode: in policySecrets only. */
const UPSTREAM_PASSWORD = `pw-Upstream-${tag}`;
const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

/** The examples, moved to `namespace`, their credential Secret labelled as a cluster needs it. */
function examples(namespace: string): Obj[] {
  const dir = join(root, 'examples/shop');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Obj))
    .map((o) => ({
      ...o,
      metadata: {
        ...o.metadata,
        namespace,
        ...(o.kind === 'Secret' ? { labels: { 'gatehouse.dev/credential': 'true' } } : {}),
      },
    }));
}

const ours = (kind: string, namespace: string, name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind,
  metadata: { name, namespace },
  spec,
});

const secret = (namespace: string, name: string, stringData: Record<string, string>): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace, labels: { 'gatehouse.dev/credential': 'true' } },
  stringData,
});

function additions(ns: string): Obj[] {
  return [
    ours('ApiProxy', ns, 'billing', {
      basePath: '/billing',
      target: { url: 'http://10.0.0.5:8080' },
      flows: { preFlow: { request: [{ policy: 'billing-key' }, { policy: 'upstream-auth' }] } },
    }),
    ours('ApiPolicy', ns, 'billing-key', {
      type: 'VerifyAPIKey',
      verifyAPIKey: { apiKey: { ref: 'request.header.x-api-key' } },
    }),
    ours('ApiPolicy', ns, 'upstream-auth', {
      type: 'BasicAuthentication',
      basicAuthentication: {
        operation: 'Encode',
        user: 'billing-svc',
        password: { secretRef: { name: 'billing-upstream', key: 'password' } },
      },
    }),
    secret(ns, 'billing-upstream', { password: UPSTREAM_PASSWORD }),
    ours('ApiProduct', ns, 'billing', { proxies: ['billing'] }),
    ours('DeveloperApp', ns, 'leak-app', {
      developer: { email: 'dev@example.com' },
      products: [{ name: 'billing' }],
      credentials: [{ secretRef: { name: 'leak-app-key' } }],
    }),
    secret(ns, 'leak-app-key', { consumerKey: secrets.consumerKey, consumerSecret: secrets.consumerSecret }),
    // Mistakes the compiler refuses: their status, Events and logs must not repeat the secret either.
    ours('ApiPolicy', ns, 'inline-password', {
      type: 'BasicAuthentication',
      basicAuthentication: { operation: 'Encode', user: 'svc', password: secrets.inlinePassword },
    }),
    ours('ApiProxy', ns, 'userinfo', {
      basePath: '/userinfo',
      target: { url: `http://svc:${secrets.urlPassword}@10.0.0.6/` },
    }),
    ours('DataPlane', ns, 'leaky', { redis: { url: `redis://:${secrets.redisPassword}@redis.${ns}.svc:6379` } }),
    // The DataPlane that serves: the nodes below name none, so they get its view, the only one.
    ours('DataPlane', ns, 'edge', {}),
  ];
}

/** Every place a text occurs in a JSON value, as paths. */
function occurrences(value: unknown, text: string, path = '$'): string[] {
  if (typeof value === 'string') return value.includes(text) ? [path] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => occurrences(v, text, `${path}.${k}`));
}

const logLines: string[] = [];
const captureLog = (component: string) =>
  pino({ level: 'trace', base: { component } }, { write: (line: string) => void logLines.push(line) });

describe('secrets in what operators can read', () => {
  const cluster = new Cluster();
  let ns = '';
  let operator: KubeOperator;
  let node: { close(): void; readonly version: string | undefined } | undefined;
  let nacking: { close(): void } | undefined;
  let extproc: ExtprocServer;
  let extprocHealth: ReturnType<typeof createHealthServer>;
  let extprocMetricsPort = 0;
  let client: ExternalProcessorClient;
  const objects: Obj[] = [];

  beforeAll(async () => {
    ns = await cluster.namespace('leaks');
    await cluster.apply(credentialKeySecret(ns, secrets.credentialKey));
    objects.push(...examples(ns), ...additions(ns));
    for (const o of objects) await cluster.apply(o);
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: captureLog('operator'),
      namespace: ns,
      watchNamespace: ns,
      host: '127.0.0.1',
      xdsPort: 0,
      metricsPort: 0,
      debounceMs: 20,
      leaderElection: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 },
      nodeReports: { heartbeatMs: 500, debounceMs: 50 },
      // DataPlane status and workloads: what the controller writes must not carry a secret either.
      dataPlane: {
        xds: { host: 'gatehouse-xds', port: 18000 },
        envoyImage: 'envoyproxy/envoy:test',
        gatehouseImage: 'gatehouse:test',
      },
    });
    // Two data-plane nodes, one NACKing every version, one ACKing: /debug/nodes shows both.
    // (A node that NACKed a version is not sent it again, so one node cannot do both.)
    const xds = `127.0.0.1:${operator.xdsPort}`;
    nacking = ackingNode(
      xds,
      `extproc/leaks-nack-${tag}`,
      'leaks',
      () => 'policy type Nope is not supported by this extproc',
    );
    node = ackingNode(xds, `extproc/leaks-${tag}`, 'leaks');
    await eventually('every object has its status', async () => {
      const waiting: string[] = [];
      for (const o of objects.filter((x) => x.kind !== 'Secret')) {
        const current = await cluster.get(o.kind, ns, o.metadata.name);
        if (!current?.status?.conditions?.some((c) => c.type === 'Accepted'))
          waiting.push(`${o.kind}/${o.metadata.name}`);
      }
      // Thrown, so that a timeout names the objects still without status.
      if (waiting.length > 0) throw new Error(`no Accepted condition yet: ${waiting.join(', ')}`);
      return true;
    });
    await eventually('the node ACKed the current version', () => {
      const current = operator.snapshots.current()?.version;
      return current !== undefined && node?.version === current;
    });

    const store = new SnapshotStore();
    store.apply(loadSnapshot(decodeRuntimeSnapshot(operator.snapshots.current()!.snapshot.runtime)));
    extproc = createExtprocServer({ snapshots: store, stores: createMemoryStores(), log: captureLog('extproc') });
    const port = await extproc.listen('127.0.0.1', 0);
    extprocHealth = createHealthServer(store, extproc.metrics);
    extprocMetricsPort = await listenHttp(extprocHealth, '127.0.0.1', 0);
    client = createExtProcClient(`127.0.0.1:${port}`);
  });

  afterAll(async () => {
    client?.close();
    await extproc?.shutdown(1_000);
    extprocHealth?.close();
    node?.close();
    nacking?.close();
    await operator?.stop();
  });

  it('status, Events, /debug, /metrics, logs and snapshots carry none of them', async () => {
    // Real requests through ext_proc: the right key, a wrong one, Basic credentials from a client.
    const send = (headers: Array<[string, string]>) =>
      runExtProcExchange({
        client,
        route: `${ns}/billing`,
        timeoutMs: 5_000,
        request: { method: 'GET', path: '/billing/x', authority: 'api.test', headers },
        upstream: () => ({ status: 200, headers: [], body: Buffer.alloc(0) }),
      });
    expect((await send([['x-api-key', secrets.consumerKey]])).response.status).toBe(200);
    expect((await send([['x-api-key', secrets.wrongKey]])).response.status).toBe(401);
    expect(
      (await send([['authorization', `Basic ${Buffer.from(`svc:${secrets.wrongKey}`).toString('base64')}`]])).response
        .status,
    ).toBe(401);

    // What a cluster user reads.
    const statuses: unknown[] = [];
    for (const o of objects.filter((x) => x.kind !== 'Secret'))
      statuses.push((await cluster.get(o.kind, ns, o.metadata.name))?.status);
    expect(JSON.stringify(statuses)).toContain('a literal password would stand in the snapshot in clear');
    expect(JSON.stringify(statuses)).toContain('a target URL may not carry credentials');
    expect(JSON.stringify(statuses)).toContain('a password in a literal Redis URL');
    const events = await eventually('Events of the refused objects', async () => {
      const list = await cluster.rest.get<{ items: unknown[] }>(`/apis/events.k8s.io/v1/namespaces/${ns}/events`);
      return list.items.length > 0 && list;
    });
    // The workloads the DataPlane controller writes (their pod specs: args, env).
    const workloads = await Promise.all(
      ['deployments', 'configmaps'].map((kind) =>
        cluster.rest.get<{ items: unknown[] }>(
          `/${kind === 'deployments' ? 'apis/apps/v1' : 'api/v1'}/namespaces/${ns}/${kind}`,
        ),
      ),
    );
    // What an operator's admin reads.
    const operatorHttp = Object.fromEntries(
      await Promise.all(
        ['/debug/nodes', '/readyz', '/healthz', '/metrics'].map(async (path) => [
          path,
          await (await fetch(`http://127.0.0.1:${operator.metricsPort}${path}`)).text(),
        ]),
      ),
    ) as Record<string, string>;
    expect(operatorHttp['/debug/nodes']).toContain(`extproc/leaks-${tag}`);
    expect(operatorHttp['/debug/nodes']).toContain('policy type Nope is not supported');
    const extprocHttp = await Promise.all(
      ['/readyz', '/healthz', '/metrics'].map(async (path) =>
        (await fetch(`http://127.0.0.1:${extprocMetricsPort}${path}`)).text(),
      ),
    );
    const snapshot = operator.snapshots.current()!.snapshot;

    const readable = {
      statuses,
      events,
      workloads,
      operatorHttp,
      extprocHttp,
      logs: logLines.join(''),
    };
    expect(readable.logs).toContain('informers synced'); // the capture works
    for (const [name, value] of Object.entries({ ...secrets, UPSTREAM_PASSWORD })) {
      expect(occurrences(readable, value), `${name} in status, Events, HTTP or logs`).toEqual([]);
    }
    // The key's hex is what the snapshot carries for extproc: never anywhere else.
    expect(occurrences(readable, hex(secrets.credentialKey)), 'the credential hash key').toEqual([]);

    for (const [name, value] of Object.entries(secrets))
      expect(occurrences(snapshot, value), `${name} in the published snapshot`).toEqual([]);
    // In policySecrets only: the whole runtime's, and that of the one DataPlane serving the proxy.
    expect(occurrences(snapshot, UPSTREAM_PASSWORD).sort()).toEqual([
      `$.dataPlanes.0.runtime.policySecrets.${ns}/billing-upstream/password`,
      `$.runtime.policySecrets.${ns}/billing-upstream/password`,
    ]);
  });

  it('gatehouse compile prints none of them, and writes only the upstream password, in policySecrets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-leaks-'));
    try {
      const yaml = (list: Obj[]) => list.map((o) => `---\n${JSON.stringify(o)}\n`).join('');
      const cli = (file: string) =>
        spawnSync(process.execPath, [join(root, 'bin/gatehouse.js'), 'compile', '-f', dir, '-o', file], {
          encoding: 'utf8',
        });
      const keySecret = credentialKeySecret(ns, secrets.credentialKey);
      // Everything, mistakes included: exit 1, nothing written, no secret in what it prints.
      writeFileSync(join(dir, 'all.yaml'), yaml([keySecret, ...objects]));
      const failed = cli(join(dir, 'refused.json'));
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain('spec.basicAuthentication.password');
      // Without the mistakes: the snapshot file.
      const mistakes = new Set(['inline-password', 'userinfo', 'leaky']);
      writeFileSync(join(dir, 'all.yaml'), yaml([keySecret, ...objects.filter((o) => !mistakes.has(o.metadata.name))]));
      const out = join(dir, 'snapshot.json');
      const compiled = cli(out);
      expect(compiled.status, compiled.stderr).toBe(0);
      const written = JSON.parse(readFileSync(out, 'utf8')) as { runtime: unknown };
      for (const [name, value] of Object.entries(secrets)) {
        expect(failed.stdout + failed.stderr + compiled.stdout + compiled.stderr, name).not.toContain(value);
        expect(occurrences(written, value), `${name} in gatehouse compile's snapshot`).toEqual([]);
      }
      expect(occurrences(written, UPSTREAM_PASSWORD)).toEqual([
        `$.runtime.policySecrets.${ns}/billing-upstream/password`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
