import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseOptions } from '../../lib/cli/command.ts';
import { operatorCommand } from './command.ts';
import { runOperator, startFolderOperator } from './main.ts';
import { typeUrls } from './xds/protos.ts';
import { sotwClient, until } from './xds/control-plane.test-support.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const proxy = (name: string, basePath: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ${name}, namespace: shop}
spec: {basePath: ${basePath}, target: {url: "http://127.0.0.1:9090"}}
`;

describe('gatehouse operator', () => {
  it('kube mode: a kubeconfig that cannot be read is a clear error naming the file', async () => {
    const options = parseOptions(operatorCommand, ['--kubeconfig', '/nonexistent/kubeconfig']);
    await expect(runOperator(options)).rejects.toMatchObject({
      code: 'GH_ERR_KUBE_CONFIG',
      message: expect.stringContaining('/nonexistent/kubeconfig') as unknown,
    });
  });

  it('--manifests: serves the folder, pushes an edit, leaves a bad object out, reports nodes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-manifests-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'orders.yaml'), proxy('orders', '/orders'));
    const lines: Array<{ msg: string; level: number }> = [];
    const log = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          lines.push(JSON.parse(line) as { msg: string; level: number });
        },
      },
    );
    const operator = await startFolderOperator({
      manifests: dir,
      host: '127.0.0.1',
      xdsPort: 0,
      metricsPort: 0,
      log,
      debounceMs: 20,
      pollMs: 100,
    });
    cleanups.push(() => operator.stop());

    const client = sotwClient(`127.0.0.1:${operator.xdsPort}`);
    cleanups.push(() => client.close());
    client.send({
      node: { id: 'edge-1', cluster: 'edge' },
      typeUrl: typeUrls.route,
      resourceNames: ['default/default/http'],
    });
    const first = await client.next();
    client.send({
      typeUrl: typeUrls.route,
      resourceNames: ['default/default/http'],
      versionInfo: first.versionInfo,
      responseNonce: first.nonce,
    });

    await writeFile(join(dir, 'catalog.yaml'), proxy('catalog', '/catalog'));
    await writeFile(join(dir, 'broken.yaml'), proxy('broken', 'no-leading-slash'));
    const second = await client.next(5000);
    expect(second.versionInfo).not.toBe(first.versionInfo);
    expect(second.resources[0]!.value.toString('latin1')).toContain('/catalog');
    expect(second.resources[0]!.value.toString('latin1')).not.toContain('no-leading-slash');
    await until(() => lines.some((l) => l.level === 50 && /ApiProxy\/shop\/broken/.test(l.msg)));
    client.send({
      typeUrl: typeUrls.route,
      resourceNames: ['default/default/http'],
      versionInfo: second.versionInfo,
      responseNonce: second.nonce,
    });

    const base = `http://127.0.0.1:${operator.metricsPort}`;
    await until(() => operator.controlPlane.registry.get('edge-1')?.syncedVersion === second.versionInfo);
    const debug = (await (await fetch(`${base}/debug/nodes`)).json()) as {
      version: string;
      nodes: Array<{ id: string; syncedVersion: string }>;
    };
    expect(debug.version).toBe(second.versionInfo);
    expect(debug.nodes).toMatchObject([{ id: 'edge-1', syncedVersion: second.versionInfo }]);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_xds_acks_total\{type="RDS"\} 2/);
    expect(metrics).toMatch(/gatehouse_xds_connected_nodes 1/);
    // Both versions were compiled, the broken proxy is left out, and each RDS ACK was timed from its publish.
    expect(metrics).toMatch(/gatehouse_operator_compile_duration_seconds_count\{result="ok"\} [2-9]/);
    expect(metrics).toMatch(/gatehouse_operator_rejected_objects\{kind="ApiProxy",reason="Invalid"\} 1/);
    expect(metrics).toMatch(/gatehouse_xds_propagation_seconds_count\{type="RDS"\} 2/);
  });

  it('--manifests: an ApiProxy that served and turns invalid keeps serving its last accepted revision over xDS', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-manifests-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'orders.yaml'), proxy('orders', '/orders'));
    const lines: Array<{ msg: string; level: number }> = [];
    const log = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[0]) },
    );
    const operator = await startFolderOperator({
      manifests: dir,
      host: '127.0.0.1',
      xdsPort: 0,
      log,
      debounceMs: 20,
      pollMs: 100,
    });
    cleanups.push(() => operator.stop());
    /** The route configuration a newly connected node gets. */
    const routes = async () => {
      const client = sotwClient(`127.0.0.1:${operator.xdsPort}`);
      try {
        client.send({
          node: { id: `n-${lines.length}`, cluster: 'edge' },
          typeUrl: typeUrls.route,
          resourceNames: ['default/default/http'],
        });
        return (await client.next(10_000)).resources[0]!.value.toString('latin1');
      } finally {
        client.close();
      }
    };
    expect(await routes()).toContain('/orders');

    await writeFile(join(dir, 'orders.yaml'), proxy('orders', 'no-leading-slash'));
    await writeFile(join(dir, 'catalog.yaml'), proxy('catalog', '/catalog'));
    await until(
      () =>
        lines.some(
          (l) =>
            l.level === 50 &&
            l.msg.includes('ApiProxy/shop/orders') &&
            l.msg.endsWith('(its last accepted revision keeps serving)'),
        ),
      15_000,
    );
    await until(() => operator.pipeline.current()!.outcomes.has('ApiProxy/shop/catalog'), 15_000);
    const served = await routes();
    expect(served).toContain('/orders');
    expect(served).toContain('/catalog');
    expect(served).not.toContain('no-leading-slash');
  });
});
