// Two regions from the same manifests (docs/operations.md#multi-region), with real parts: two
// kube-apiservers, each with its own etcd (the shared test environment's, and a private one that
// this suite takes down); a `gatehouse operator` process per region; a data plane per region,
// connected to its own operator over xDS (`gatehouse extproc` as the operator rendered it for the
// region's DataPlane, two devproxies as its Envoys); one Redis that both regions share, kept apart
// by the region prefix of every key. The same ApiProxy, ApiPolicies, ApiProduct, DeveloperApp,
// Secrets and credential hash key go to both clusters; only the DataPlane's `region` differs (the
// per-region overlay).
//
// It shows: each region counts its own quota, across its Envoys (the quota variables and the Redis
// keys, which differ only by the region); `environment.name` is the region's; an edit applied to
// one region changes only that region, and `gatehouse status --context eu --context us` says the
// regions disagree (exit 1); with one region's apiserver and operator down, its data plane keeps
// serving its last configuration, the other region serves and takes a change end to end, and
// `gatehouse status` names the region it cannot read (exit 2); when the control plane comes back,
// the region converges and the regions agree.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../lib/cli/command.ts';
import { createEchoUpstream, listenEcho } from '../../devproxy/src/echo-upstream.ts';
import { statusCommand } from '../../operator/src/command.ts';
import { runStatus } from '../../operator/src/status-command.ts';
import { ENV, startPrivateControlPlane, type PrivateControlPlane } from '../env/env.ts';
import { loadKubeconfigFile } from '../env/kubeconfig.ts';
import { credentialKeySecret, eventually, hasConditions, type Obj } from './kube.ts';
import { Region, type Reply } from './region.ts';

const api = 'gatehouse.dev/v1alpha1';
const tag = randomBytes(3).toString('hex');
const namespace = `regions-${tag}`;
const regionName = { eu: `eu-west-${tag}`, us: `us-east-${tag}` };
const apiKey = `k-regions-${tag}`;
// One credential hash key for both clusters (allowed: each cluster's may differ), so that the Redis key
// names of the two regions differ by nothing but the region prefix.
const credentialKey = randomBytes(32).toString('hex');

/** The ApiProxy; `targetPath` is the edit one region gets. */
const orders = (echoPort: number, targetPath = ''): Obj => ({
  apiVersion: api,
  kind: 'ApiProxy',
  metadata: { name: 'orders', namespace },
  spec: {
    basePath: '/orders',
    target: { url: `http://127.0.0.1:${echoPort}${targetPath}` },
    flows: {
      preFlow: { request: [{ policy: 'verify-key' }, { policy: 'quota' }], response: [{ policy: 'stamp' }] },
    },
  },
});

/** The manifests every region gets, and the DataPlane from the region's overlay. */
function manifests(region: string, echoPort: number, redisUrl: string): Obj[] {
  const policy = (name: string, spec: Record<string, unknown>): Obj => ({
    apiVersion: api,
    kind: 'ApiPolicy',
    metadata: { name, namespace },
    spec,
  });
  return [
    credentialKeySecret(namespace, credentialKey),
    orders(echoPort),
    policy('verify-key', { type: 'VerifyAPIKey', verifyAPIKey: { apiKey: { ref: 'request.header.x-api-key' } } }),
    policy('quota', {
      type: 'Quota',
      quota: {
        allow: 1000,
        interval: 1,
        timeUnit: 'hour',
        identifier: { ref: 'client_id' },
        distributed: true,
        synchronous: true,
      },
    }),
    policy('stamp', {
      type: 'AssignMessage',
      assignMessage: {
        assignTo: 'response',
        set: { headers: { 'x-region': '{environment.name}', 'x-quota-used': '{ratelimit.quota.used.count}' } },
      },
    }),
    { apiVersion: api, kind: 'ApiProduct', metadata: { name: 'all', namespace }, spec: { proxies: ['orders'] } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-key', namespace, labels: { 'gatehouse.dev/credential': 'true' } },
      stringData: { consumerKey: apiKey, consumerSecret: `s-${tag}` },
    },
    {
      apiVersion: api,
      kind: 'DeveloperApp',
      metadata: { name: 'app', namespace },
      spec: {
        developer: { email: 'dev@example.com' },
        products: [{ name: 'all' }],
        credentials: [{ secretRef: { name: 'app-key' } }],
      },
    },
    {
      apiVersion: api,
      kind: 'DataPlane',
      metadata: { name: 'edge', namespace },
      // A generous message timeout: what the regions do is under test, not latency on a loaded machine.
      spec: { region, listeners: [{ name: 'http', port: 8080 }], redis: { url: redisUrl }, messageTimeout: '5s' },
    },
  ];
}

const upstreamPath = (r: Reply) => (JSON.parse(r.body) as { path: string }).path;

describe('two regions from the same manifests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-regions-'));
  const redis = new Redis(process.env[ENV.redisUrl]!);
  let euControlPlane: PrivateControlPlane | undefined;
  let eu: Region;
  let us: Region;
  let echo: Server | undefined;
  let echoPort = 0;
  let kubeconfig = '';

  async function status(...argv: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const options = parseOptions(statusCommand, ['--kubeconfig', kubeconfig, '--request-timeout', '5s', ...argv]);
    const code = await runStatus(options, { write: (t: string) => (out += t) });
    return { code, out };
  }

  /** The ApiProxy at `generation` is Ready in the region, with its three data-plane nodes synced. */
  const readyAt = (region: Region, generation: number) =>
    eventually(
      `${region.o.context}: ApiProxy orders generation ${generation} Ready on 3/3 nodes`,
      async () => {
        const o = await region.cluster.get('ApiProxy', namespace, 'orders');
        return (
          o?.metadata.generation === generation &&
          hasConditions(o, { Accepted: 'True', Programmed: 'True', Ready: 'True' }) &&
          o.status?.dataPlanesSynced === '3/3'
        );
      },
      60_000,
    );

  const quotaKeys = async (region: string) => (await redis.keys(`gh:${region}:quota:*`)).sort();

  beforeAll(async () => {
    echo = createEchoUpstream('echo');
    echoPort = await listenEcho(echo, '127.0.0.1', 0);
    const start = async (region: Region, name: string) => {
      await region.allocatePorts();
      await region.cluster.rest.create('/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace },
      });
      for (const o of manifests(name, echoPort, process.env[ENV.redisUrl]!)) await region.cluster.apply(o);
      await region.startOperator();
      await region.startDataPlane('edge');
    };
    us = new Region({
      context: 'us',
      namespace,
      adminKubeconfig: process.env[ENV.adminKubeconfig]!,
      operatorKubeconfig: process.env[ENV.operatorKubeconfig]!,
      dir: mkdtempSync(join(dir, 'us-')),
    });
    // The region on the shared cluster starts while the second cluster boots. Both settle before
    // anything fails, so afterAll finds every process that was started.
    const started = await Promise.allSettled([
      start(us, regionName.us),
      (async () => {
        euControlPlane = await startPrivateControlPlane();
        eu = new Region({
          context: 'eu',
          namespace,
          adminKubeconfig: euControlPlane.adminKubeconfig,
          operatorKubeconfig: euControlPlane.operatorKubeconfig,
          dir: mkdtempSync(join(dir, 'eu-')),
        });
        await start(eu, regionName.eu);
      })(),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const regions = [eu, us];

    // `gatehouse status` reads both clusters through one kubeconfig, a context per region.
    const contexts = regions.map((region) => {
      const kc = loadKubeconfigFile(region.o.adminKubeconfig);
      const name = region.o.context;
      return {
        cluster: { ...kc.getCurrentCluster()!, name },
        user: { ...kc.getCurrentUser()!, name: `${name}-admin` },
        context: { name, cluster: name, user: `${name}-admin`, namespace },
      };
    });
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: contexts.map((c) => c.cluster),
      users: contexts.map((c) => c.user),
      contexts: contexts.map((c) => c.context),
      currentContext: 'eu',
    });
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });

    await Promise.all([readyAt(eu, 1), readyAt(us, 1)]);
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled([eu?.stop(), us?.stop()]);
    await Promise.allSettled([
      euControlPlane?.stop(),
      us?.cluster.rest.delete(`/api/v1/namespaces/${namespace}`),
      new Promise<void>((resolve) => {
        if (!echo) return resolve();
        echo.closeAllConnections();
        echo.close(() => resolve());
      }),
    ]);
    const keys = [...(await redis.keys(`gh:${regionName.eu}:*`)), ...(await redis.keys(`gh:${regionName.us}:*`))];
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const withKey = { 'x-api-key': apiKey };

  it('counts each region apart, under its own key prefix, with its own environment.name', async () => {
    // The region reaches extproc from the region's DataPlane, through the Deployment its operator rendered.
    for (const [region, name] of [
      [eu, regionName.eu],
      [us, regionName.us],
    ] as const)
      expect(region.extprocArgs[region.extprocArgs.indexOf('--region') + 1]).toBe(name);

    const sent: Reply[] = [];
    // Through both of eu's Envoys: one counter for the region.
    for (let i = 0; i < 3; i++) sent.push(await eu.request('/orders/x', withKey, i % 2));
    expect(sent.map((r) => [r.status, r.headers.get('x-region'), r.headers.get('x-quota-used')])).toEqual([
      [200, regionName.eu, '1'],
      [200, regionName.eu, '2'],
      [200, regionName.eu, '3'],
    ]);
    expect(await quotaKeys(regionName.us)).toEqual([]);

    // The same app in the other region starts from zero, and counting there leaves the first alone.
    const inUs = await us.request('/orders/x', withKey);
    expect([inUs.status, inUs.headers.get('x-region'), inUs.headers.get('x-quota-used')]).toEqual([
      200,
      regionName.us,
      '1',
    ]);
    const again = await eu.request('/orders/x', withKey, 1);
    expect(again.headers.get('x-quota-used')).toBe('4');

    // In Redis: one counter per region, named alike but for the region, each with its own count.
    const [euKeys, usKeys] = [await quotaKeys(regionName.eu), await quotaKeys(regionName.us)];
    expect(euKeys).toHaveLength(1);
    expect(usKeys).toHaveLength(1);
    expect(euKeys[0]!.slice(`gh:${regionName.eu}`.length)).toBe(usKeys[0]!.slice(`gh:${regionName.us}`.length));
    expect(euKeys[0]).toMatch(new RegExp(`^gh:${regionName.eu}:quota:\\{${namespace}/quota/`));
    expect(await redis.hget(euKeys[0]!, 'c')).toBe('4');
    expect(await redis.hget(usKeys[0]!, 'c')).toBe('1');

    // A key neither region knows is refused in both.
    for (const region of [eu, us])
      expect((await region.request('/orders/x', { 'x-api-key': 'not-a-key' })).status).toBe(401);
  });

  it('applies an edit in one region to that region only, and `gatehouse status` says they disagree', async () => {
    const agreed = await status('--context', 'eu', '--context', 'us');
    expect(agreed.code, agreed.out).toBe(0);
    expect(agreed.out).toContain('All 2 regions agree.');

    await eu.cluster.apply(orders(echoPort, '/v2'));
    await eventually('eu forwards to the edited target', async () => {
      const r = await eu.request('/orders/x', withKey);
      return r.status === 200 && upstreamPath(r) === '/v2/x';
    });
    const inUs = await us.request('/orders/x', withKey);
    expect([inUs.status, upstreamPath(inUs)]).toEqual([200, '/x']);
    expect((await us.cluster.get('ApiProxy', namespace, 'orders'))?.metadata.generation).toBe(1);

    await readyAt(eu, 2);
    const differ = await status('--context', 'eu', '--context', 'us');
    expect(differ.code, differ.out).toBe(1);
    expect(differ.out).toMatch(
      /orders: accepted spec differs: eu generation 2 spec \w{12}, us generation 1 spec \w{12}/,
    );
  });

  it("keeps the other region serving and changing while one region's control plane is down", async () => {
    // eu loses its control plane at once, as a lost machine or zone would: the apiserver and the
    // operator are killed.
    await Promise.all([euControlPlane!.controlPlane.apiserver.kill(), eu.operator!.kill()]);

    // eu's data plane serves its last configuration: the edited target, its region, its counter.
    const inEu = await eu.request('/orders/x', withKey);
    expect([inEu.status, upstreamPath(inEu), inEu.headers.get('x-region')]).toEqual([200, '/v2/x', regionName.eu]);

    // `gatehouse status` names the region it cannot read and still prints the other.
    const down = await status('--context', 'eu', '--context', 'us');
    expect(down.code, down.out).toBe(2);
    expect(down.out).toMatch(/^context eu: cannot list ApiProxies: .*\[GH_ERR_KUBE_CONNECTION\]$/m);
    expect(down.out).toMatch(new RegExp(`^${namespace}/orders\\s+us\\s+${namespace}\\s+1\\s.*True Synced\\s+3/3`, 'm'));

    // us takes a change end to end: apiserver, operator, its three nodes, traffic.
    await us.cluster.apply(orders(echoPort, '/v2'));
    await eventually('us forwards to the edited target', async () => {
      const r = await us.request('/orders/x', withKey);
      return r.status === 200 && upstreamPath(r) === '/v2/x';
    });
    await readyAt(us, 2);
    const inUs = await us.request('/orders/x', withKey);
    expect([inUs.status, inUs.headers.get('x-region')]).toEqual([200, regionName.us]);

    // And eu, still without its control plane, still serves through both Envoys; also after its extproc
    // restarted, which then starts from the snapshot it cached.
    for (const envoy of [0, 1]) {
      const stillEu = await eu.request('/orders/x', withKey, envoy);
      expect([stillEu.status, upstreamPath(stillEu)]).toEqual([200, '/v2/x']);
    }
    expect(await eu.restartExtproc()).toMatch(
      /^ready: snapshot \w+ \(from the cache .*: control plane \S+ unreachable\)/,
    );
    const restarted = await eu.request('/orders/x', withKey);
    expect([restarted.status, upstreamPath(restarted), restarted.headers.get('x-region')]).toEqual([
      200,
      '/v2/x',
      regionName.eu,
    ]);
  });

  it('converges when the region gets its control plane back, and the regions agree again', async () => {
    await euControlPlane!.controlPlane.restartApiserver();
    await eu.startOperator();
    // Its nodes reconnect on their own (backoff), and report the revision they kept serving. The
    // status from before the outage says Ready already, and the new operator may first write that
    // no node is connected: wait for the regions to agree, not for one reading.
    await readyAt(eu, 2);
    const agreed = await eventually(
      'the regions agree again',
      async () => {
        const r = await status('--context', 'eu', '--context', 'us');
        return r.code === 0 ? r : undefined;
      },
      120_000,
    );
    expect(agreed.code, agreed.out).toBe(0);
    expect(agreed.out).toContain('All 2 regions agree.');
    // An apiserver start, an operator start and the nodes' reconnect backoff (up to 30 s) on a loaded machine.
  }, 180_000);
});
