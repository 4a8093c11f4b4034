// kube-apiserver restarted under a running operator: its watches break, the informers re-list and
// re-watch with backoff, and the status of objects changed around the outage catches up. The suite runs
// its own control plane, since it restarts it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { ENV, startTestEnv, type TestEnv } from '../env/env.ts';
import { loadKubeconfigFile } from '../env/kubeconfig.ts';
import { Cluster, eventually, hasConditions } from './kube.ts';

describe('kube-apiserver restarted mid-run', () => {
  let env: TestEnv;
  let operator: KubeOperator;
  let cluster: Cluster;
  let ns = '';

  beforeAll(async () => {
    env = await startTestEnv();
    cluster = new Cluster(loadKubeconfigFile(env.vars[ENV.adminKubeconfig]!));
    ns = await cluster.operatorNamespace('restart');
    operator = await startKubeOperator({
      kc: loadKubeconfigFile(env.vars[ENV.operatorKubeconfig]!),
      log: silentLog,
      namespace: ns,
      watchNamespace: ns,
      identity: 'op-restart',
      host: '127.0.0.1',
      xdsPort: 0,
      debounceMs: 20,
      leaderElection: { leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 500 },
    });
    await eventually('leading', () => operator.isLeader());
  });

  afterAll(async () => {
    await operator?.stop();
    await env?.stop();
  });

  it('informers recover and status catches up', async (ctx) => {
    const controlPlane = env.controlPlane;
    // Against a cluster of its own (KUBECONFIG mode) the suite cannot restart the apiserver.
    if (!controlPlane) return ctx.skip();
    const policy = (name: string, header: string) => ({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiPolicy',
      metadata: { name, namespace: ns },
      spec: { type: 'AssignMessage', assignMessage: { set: { headers: { 'x-h': header } } } },
    });
    await cluster.apply(policy('before', 'a'));
    await eventually('before Ready', async () =>
      hasConditions(await cluster.get('ApiPolicy', ns, 'before'), { Ready: 'True' }),
    );

    await controlPlane.restartApiserver();

    // Changes after the restart reach the snapshot (the watches were re-established) and get status.
    await cluster.apply(policy('before', 'b'));
    await cluster.apply(policy('after', 'c'));
    await eventually(
      'the new generation and the new object Ready',
      async () => {
        const [before, after] = [
          await cluster.get('ApiPolicy', ns, 'before'),
          await cluster.get('ApiPolicy', ns, 'after'),
        ];
        return (
          before?.metadata.generation === 2 &&
          hasConditions(before, { Ready: 'True' }) &&
          hasConditions(after, { Ready: 'True' })
        );
      },
      60_000,
    );
    expect(operator.snapshots.current()!.outcomes.get(`ApiPolicy/${ns}/after`)?.servingGeneration).toBe(1);
    // A delete while the operator's watch was down is noticed too (the re-list reconciles the cache).
    await controlPlane.restartApiserver();
    await cluster.remove('ApiPolicy', ns, 'after');
    await eventually(
      'the deleted ApiPolicy leaves the compiled state',
      () => !operator.snapshots.current()!.outcomes.has(`ApiPolicy/${ns}/after`),
      60_000,
    );
    expect(operator.isLeader()).toBe(true);
  });
});
