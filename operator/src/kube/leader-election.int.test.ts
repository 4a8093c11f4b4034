// Leader election between real replicas' electors on one Lease of a real kube-apiserver, as the chart's
// restricted identity (leases: get, create, update): exactly one leads, a stopping leader hands over
// at once, and a leader cut off from the apiserver steps down before another replica takes over.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../e2e/env/eventually.ts';
import { adminKubeConfig, operatorKubeConfig } from '../../../e2e/env/kubeconfig.ts';
import { KubeConnectionError } from './errors.ts';
import { LeaderElector, type Lease } from './leader-election.ts';
import { KubeRest, resourcePath, type RequestOptions } from './rest.ts';

const log = pino({ level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent' });

/** A replica's client whose every request fails while `cut` (the replica lost the apiserver). */
class CuttableRest extends KubeRest {
  cut = false;
  override request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T> {
    if (this.cut)
      return Promise.reject(
        new KubeConnectionError({ method, path, message: 'connect ECONNREFUSED (cut by the test)' }),
      );
    return super.request<T>(method, path, options);
  }
}

interface Replica {
  identity: string;
  rest: CuttableRest;
  elector: LeaderElector;
}

describe('LeaderElector on a real Lease', () => {
  const admin = new KubeRest(adminKubeConfig());
  const operatorKc = operatorKubeConfig();
  const namespace = `gatehouse-lease-${Date.now().toString(36)}`;
  let replicas: Replica[] = [];
  /** Leadership changes in the order they happened, e.g. "a started", "a stopped". */
  let timeline: string[] = [];
  /** Every sample where more than one replica believed it was the leader. */
  let overlaps: string[] = [];
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  });
  afterAll(async () => {
    await admin.delete(`/api/v1/namespaces/${namespace}`);
  });
  afterEach(async () => {
    clearInterval(sampler);
    await Promise.all(replicas.map((r) => r.elector.stop()));
    replicas = [];
  });

  function replicasOn<const I extends string[]>(
    lease: string,
    timings: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number },
    ...identities: I
  ): { [K in keyof I]: Replica } {
    timeline = [];
    overlaps = [];
    replicas = identities.map((identity) => {
      const rest = new CuttableRest(operatorKc, { timeoutMs: 2_000 });
      const elector = new LeaderElector({
        rest,
        namespace,
        name: lease,
        identity,
        log: log.child({ replica: identity }),
        ...timings,
        onStartedLeading: () => timeline.push(`${identity} started`),
        onStoppedLeading: () => timeline.push(`${identity} stopped`),
      });
      return { identity, rest, elector };
    });
    sampler = setInterval(() => {
      const leaders = replicas.filter((r) => r.elector.isLeader).map((r) => r.identity);
      if (leaders.length > 1) overlaps.push(leaders.join('+'));
    }, 10);
    return replicas as { [K in keyof I]: Replica };
  }

  const readLease = (name: string) =>
    admin.get<Lease>(
      resourcePath({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace, name }),
    );
  const leaders = () => replicas.filter((r) => r.elector.isLeader);
  const fast = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
  const microTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

  it('elects exactly one of two replicas and records it in the Lease', async () => {
    const [a, b] = replicasOn('one-leader', fast, 'replica-a', 'replica-b');
    a.elector.start();
    b.elector.start();
    await eventually('a leader', () => leaders().length === 1);
    const leader = leaders()[0]!;
    const follower = leader === a ? b : a;
    // Several renewals later: still the same one, and the other knows who it is.
    await sleep(2_500);
    expect(timeline).toEqual([`${leader.identity} started`]);
    await eventually('the follower sees the leader', () => follower.elector.leader === leader.identity);
    const lease = await readLease('one-leader');
    expect(lease.spec).toMatchObject({ holderIdentity: leader.identity, leaseDurationSeconds: 3, leaseTransitions: 0 });
    expect(lease.spec!.acquireTime).toMatch(microTime);
    expect(lease.spec!.renewTime).toMatch(microTime);
    expect(lease.spec!.renewTime! > lease.spec!.acquireTime!).toBe(true);
    expect(overlaps).toEqual([]);
  });

  it('hands over at once when the leader stops: it releases the Lease instead of letting it expire', async () => {
    // A 60 s lease: without the release the follower could not take over within the wait below.
    const [a, b] = replicasOn(
      'handover',
      { leaseDurationMs: 60_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 },
      'replica-a',
      'replica-b',
    );
    a.elector.start();
    await eventually('a leads', () => a.elector.isLeader);
    b.elector.start();
    await eventually('b follows a', () => b.elector.leader === 'replica-a');
    await a.elector.stop();
    expect(a.elector.isLeader).toBe(false);
    await eventually('b takes over', () => b.elector.isLeader, 20_000);
    expect(timeline).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
    const lease = await readLease('handover');
    expect(lease.spec).toMatchObject({ holderIdentity: 'replica-b', leaseDurationSeconds: 60, leaseTransitions: 1 });
    expect(overlaps).toEqual([]);
  });

  it('a leader cut off from the apiserver steps down, and only then does another replica take over', async () => {
    const [a, b] = replicasOn('partition', fast, 'replica-a', 'replica-b');
    a.elector.start();
    await eventually('a leads', () => a.elector.isLeader);
    b.elector.start();
    await eventually('b follows a', () => b.elector.leader === 'replica-a');
    a.rest.cut = true;
    await eventually('b takes over', () => b.elector.isLeader);
    expect(timeline).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
    expect(overlaps).toEqual([]);
    // a comes back: it campaigns again, but b holds the Lease and keeps renewing it.
    a.rest.cut = false;
    await eventually('a sees b', () => a.elector.leader === 'replica-b');
    await sleep(2_000);
    expect(a.elector.isLeader).toBe(false);
    expect(timeline).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
    expect((await readLease('partition')).spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });
    expect(overlaps).toEqual([]);
  });

  it('a cut-off replica that comes back after its term finds a new leader and does not take over', async () => {
    const [a, b, c] = replicasOn('three', fast, 'replica-a', 'replica-b', 'replica-c');
    for (const r of [a, b, c]) r.elector.start();
    await eventually('a leader', () => leaders().length === 1);
    const first = leaders()[0]!;
    first.rest.cut = true;
    await eventually('another leader', () => leaders().length === 1 && !first.elector.isLeader);
    const second = leaders()[0]!;
    first.rest.cut = false;
    await eventually('the first sees the second', () => first.elector.leader === second.identity);
    await sleep(1_500);
    expect(timeline).toEqual([`${first.identity} started`, `${first.identity} stopped`, `${second.identity} started`]);
    expect(overlaps).toEqual([]);
  });
});
