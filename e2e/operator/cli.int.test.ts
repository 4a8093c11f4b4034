// `gatehouse operator --kubeconfig` as a real process under the chart's restricted identity: it serves,
// writes status, and on SIGTERM releases its Lease so the next replica need not wait out the lease.
import { afterAll, describe, expect, it } from 'vitest';
import { ENV } from '../env/env.ts';
import { freePort } from '../env/ports.ts';
import { gatehouse, until, type Command } from '../dev/processes.ts';
import { Cluster, eventually, hasConditions } from './kube.ts';

describe('gatehouse operator --kubeconfig', () => {
  const cluster = new Cluster();
  let operator: Command | undefined;

  afterAll(async () => {
    await operator?.stop('SIGKILL');
  });

  it('compiles and serves the cluster, writes status, releases the Lease on SIGTERM', async () => {
    const ns = await cluster.operatorNamespace('cli');
    const [xdsPort, metricsPort] = [await freePort(), await freePort()];
    operator = gatehouse([
      'operator',
      '--kubeconfig',
      process.env[ENV.operatorKubeconfig]!,
      '--namespace',
      ns,
      '--operator-namespace',
      ns,
      '--identity',
      'cli-0',
      '--xds-port',
      String(xdsPort),
      '--metrics-port',
      String(metricsPort),
      '--lease-duration',
      '4s',
      '--renew-deadline',
      '3s',
      '--retry-period',
      '500ms',
    ]);
    await until(operator, '/readyz', async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok);

    await cluster.apply({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiPolicy',
      metadata: { name: 'tag', namespace: ns },
      spec: { type: 'AssignMessage', assignMessage: { set: { headers: { 'x-tag': 'one' } } } },
    });
    await eventually('ApiPolicy Ready', async () =>
      hasConditions(await cluster.get('ApiPolicy', ns, 'tag'), { Accepted: 'True', Ready: 'True' }),
    );
    const lease = await eventually('Lease held by cli-0', async () => {
      const l = await cluster.get('Lease', ns, 'gatehouse-operator');
      return l?.spec?.holderIdentity === 'cli-0' && l;
    });
    expect(lease.spec?.leaseDurationSeconds).toBe(4);

    await operator.stop('SIGTERM');
    expect(operator.child.exitCode).toBe(0);
    const released = await cluster.get('Lease', ns, 'gatehouse-operator');
    expect(released?.spec?.holderIdentity ?? '', operator.output()).toBe('');
  });
});
