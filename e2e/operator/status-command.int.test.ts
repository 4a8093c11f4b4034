// `gatehouse status` against the real apiserver: two regions simulated as two kubeconfig contexts on
// one apiserver, each with its own namespace, the same ApiProxy in both, and the status an operator
// would write (through the status subresource). One region has a node that does not run the accepted
// revision: the table names it and the exit code is 1; once it syncs, exit 0; a context whose server
// is unreachable is named, the other regions still printed, exit 2 (docs/operations.md#comparing-regions-gatehouse-status).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../lib/cli/command.ts';
import { statusCommand } from '../../operator/src/command.ts';
import { runStatus } from '../../operator/src/status-command.ts';
import { adminKubeConfig, Cluster, pathOf } from './kube.ts';

const root = new URL('../..', import.meta.url).pathname;

async function status(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runStatus(parseOptions(statusCommand, argv), { write: (t: string) => (out += t) });
  return { code, out };
}

const condition = (type: string, s: string, reason: string) => ({
  type,
  status: s,
  reason,
  message: `${type} ${reason}`,
  lastTransitionTime: '2026-12-01T10:00:00Z',
  observedGeneration: 1,
});

describe('gatehouse status across two regions', () => {
  const cluster = new Cluster();
  let dir = '';
  let kubeconfig = '';
  let us = '';
  let eu = '';

  async function writeStatus(namespace: string, nodes: { name: string; synced: boolean; lastSyncTime: string }[]) {
    const synced = nodes.filter((n) => n.synced).length;
    const all = synced === nodes.length;
    await cluster.rest.mergePatch(pathOf('ApiProxy', namespace, 'orders', 'status'), {
      status: {
        observedGeneration: 1,
        conditions: [
          condition('Accepted', 'True', 'Accepted'),
          condition('Programmed', 'True', 'Programmed'),
          condition('Ready', all ? 'True' : 'False', all ? 'Synced' : 'SyncPending'),
        ],
        lastAccepted: { generation: 1, spec: { basePath: '/orders', target: { url: 'http://orders:8080' } } },
        dataPlanes: nodes,
        dataPlanesSynced: `${synced}/${nodes.length}`,
      },
    });
  }

  beforeAll(async () => {
    [us, eu] = await Promise.all([cluster.namespace('status-us'), cluster.namespace('status-eu')]);
    for (const namespace of [us, eu])
      await cluster.apply({
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'ApiProxy',
        metadata: { name: 'orders', namespace },
        spec: { basePath: '/orders', target: { url: 'http://orders:8080' } },
      });
    // One kubeconfig, a context per region: same apiserver and admin user, each its own namespace; and
    // a region whose apiserver is down.
    const admin = adminKubeConfig();
    const user = admin.getCurrentUser()!.name;
    const server = admin.getCurrentCluster()!;
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [server, { name: 'down', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: admin.users,
      contexts: [
        { name: 'us', cluster: server.name, user, namespace: us },
        { name: 'eu', cluster: server.name, user, namespace: eu },
        { name: 'down', cluster: 'down', user, namespace: us },
      ],
      currentContext: 'us',
    });
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-status-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kc.exportConfig());
  });

  afterAll(async () => {
    await Promise.all([us, eu].filter(Boolean).map((n) => cluster.rest.delete(`/api/v1/namespaces/${n}`)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('names the unsynced node and exits 1; exits 0 once every region agrees; exit 2 names an unreachable context', async () => {
    await writeStatus(us, [
      { name: 'envoy-us-0', synced: true, lastSyncTime: '2026-12-01T10:00:00Z' },
      { name: 'envoy-us-1', synced: true, lastSyncTime: '2026-12-01T10:00:02Z' },
    ]);
    await writeStatus(eu, [
      { name: 'envoy-eu-0', synced: true, lastSyncTime: '2026-12-01T10:00:00Z' },
      { name: 'envoy-eu-1', synced: false, lastSyncTime: '2026-12-01T09:00:00Z' },
    ]);

    const behind = await status('--kubeconfig', kubeconfig, '--context', 'us', '--context', 'eu');
    expect(behind.code, behind.out).toBe(1);
    expect(behind.out).toMatch(
      new RegExp(`^orders\\s+us\\s+${us}\\s+1\\s+\\w{12}\\s+True\\s+True\\s+True Synced\\s+2/2\\s+-$`, 'm'),
    );
    expect(behind.out).toMatch(
      new RegExp(`^\\s+eu\\s+${eu}\\s+1\\s+\\w{12}\\s+True\\s+True\\s+False SyncPending\\s+1/2\\s+envoy-eu-1 `, 'm'),
    );
    expect(behind.out).toContain('orders: eu: 1/2 data-plane nodes synced; oldest unsynced envoy-eu-1');

    const json = await status('--kubeconfig', kubeconfig, '--context', 'us', '--context', 'eu', '-o', 'json');
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.out) as {
      agree: boolean;
      proxies: { name: string; agree: boolean; regions: Record<string, { oldestUnsynced: { name: string } | null }> }[];
    };
    expect(doc.agree).toBe(false);
    expect(doc.proxies).toHaveLength(1);
    expect(doc.proxies[0]!.regions.eu!.oldestUnsynced?.name).toBe('envoy-eu-1');

    await writeStatus(eu, [
      { name: 'envoy-eu-0', synced: true, lastSyncTime: '2026-12-01T10:00:00Z' },
      { name: 'envoy-eu-1', synced: true, lastSyncTime: '2026-12-01T10:01:00Z' },
    ]);
    const agreed = await status('--kubeconfig', kubeconfig, '--context', 'us', '--context', 'eu');
    expect(agreed.code, agreed.out).toBe(0);
    expect(agreed.out).toContain('All 2 regions agree.');

    // The real bin: the down region is named with its reason, the others still printed, exit 2.
    const run = spawnSync(
      `${root}node_modules/.bin/node`,
      [
        `${root}bin/gatehouse.js`,
        'status',
        '--kubeconfig',
        kubeconfig,
        '--context',
        'us',
        '--context',
        'eu',
        '--context',
        'down',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(run.status, run.stderr).toBe(2);
    expect(run.stdout).toMatch(new RegExp(`^orders\\s+us\\s+${us}\\s`, 'm'));
    expect(run.stdout).toMatch(/^context down: cannot list ApiProxies: .*ECONNREFUSED.* \[GH_ERR_KUBE_CONNECTION\]$/m);
  });
});
