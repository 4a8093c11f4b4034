// `gatehouse operator --manifests DIR` as a real process, with a real xDS client: an ApiProxy that
// served and whose file turns invalid keeps serving its last accepted revision (folder mode keeps last
// accepted revisions as kube mode does), a file that does not parse keeps its last good objects, and
// the log names what is wrong. No apiserver: folder mode needs none.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { typeUrls } from '../../operator/src/xds/protos.ts';
import { sotwClient } from '../../operator/src/xds/control-plane.test-support.ts';
import { gatehouse, until, type Command } from '../dev/processes.ts';
import { freePort } from '../env/ports.ts';

const proxy = (name: string, basePath: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ${name}, namespace: shop}
spec: {basePath: ${basePath}, target: {url: "http://127.0.0.1:9090"}}
`;

describe('gatehouse operator --manifests keeps last accepted revisions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-folder-operator-'));
  let operator: Command | undefined;

  afterAll(async () => {
    await operator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the last accepted revision of a proxy whose file turned invalid, and names the problem', async () => {
    writeFileSync(join(dir, 'orders.yaml'), proxy('orders', '/orders'));
    writeFileSync(join(dir, 'catalog.yaml'), proxy('catalog', '/catalog'));
    const [xdsPort, metricsPort] = [await freePort(), await freePort()];
    operator = gatehouse([
      'operator',
      '--manifests',
      dir,
      '--xds-port',
      String(xdsPort),
      '--metrics-port',
      String(metricsPort),
    ]);
    const cmd = operator;
    await until(cmd, '/readyz', async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok);
    let node = 0;
    /** The route configuration a newly connected node gets. */
    const routes = async () => {
      const client = sotwClient(`127.0.0.1:${xdsPort}`);
      try {
        client.send({
          node: { id: `n-${node++}`, cluster: 'edge' },
          typeUrl: typeUrls.route,
          resourceNames: ['default/default/http'],
        });
        return (await client.next(10_000)).resources[0]!.value.toString('latin1');
      } finally {
        client.close();
      }
    };
    const first = await routes();
    expect(first).toContain('/orders');
    expect(first).toContain('/catalog');

    writeFileSync(join(dir, 'orders.yaml'), proxy('orders', 'no-leading-slash'));
    writeFileSync(join(dir, 'catalog.yaml'), `${proxy('catalog', '/catalog')}---\nkind: [unclosed\n`);
    writeFileSync(join(dir, 'extra.yaml'), proxy('extra', '/extra'));
    await until(cmd, 'the problems to be logged', () =>
      Promise.resolve(
        /orders\.yaml: ApiProxy\/shop\/orders: spec\.basePath: .*\(its last accepted revision keeps serving\)/.test(
          cmd.output(),
        ) && /catalog\.yaml: line \d+: /.test(cmd.output()),
      ),
    );
    await until(cmd, 'the new proxy to be served', async () => (await routes()).includes('/extra'));
    const served = await routes();
    expect(served).toContain('/orders');
    expect(served).toContain('/catalog');
    expect(served).not.toContain('no-leading-slash');
  }, 120_000);
});
