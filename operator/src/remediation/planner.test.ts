import { describe, expect, it } from 'vitest';
import { classify } from './classify.ts';
import { record, type RemediationRecord } from './history.ts';
import { planRemediation, recordAction, type PlanInput, type PlannedAction } from './planner.ts';
import { remediationPolicy, type RemediationPolicy } from './policy.ts';
import { nodeHealth, type Node, type Pod } from './pods.ts';
import { at, MIN, node, pod, type PodShape } from './pods.test-support.ts';

const NOW = at(60 * MIN);

function policyOf(
  r: Partial<{ dryRun: boolean; maxEvictionsPerHour: number; minAvailable: number }> = {},
): RemediationPolicy {
  return remediationPolicy({
    remediation: { enabled: true, notReadyFor: '5m', maxEvictionsPerHour: 10, minAvailable: 1, ...r },
  });
}

function plan(
  pods: Pod[],
  options: Partial<Omit<PlanInput, 'pods'>> & { nodes?: Node[]; policy?: RemediationPolicy } = {},
) {
  const policy = options.policy ?? policyOf();
  const nodes = new Map((options.nodes ?? [node('node-a')]).map((n) => [n.metadata.name, n]));
  const now = options.now ?? NOW;
  return planRemediation({
    now,
    policy,
    history: options.history ?? [],
    pdbs: options.pdbs,
    refusals: options.refusals,
    inProgress: options.inProgress,
    pods: pods.map((p) => {
      const n = nodes.get(p.spec?.nodeName ?? '');
      return { pod: p, classification: classify(p, n, now, policy), node: n && nodeHealth(n) };
    }),
  });
}

const summary = (actions: PlannedAction[]) =>
  actions.map(
    (a) =>
      `${a.pod.metadata.name}:${a.type === 'wait' ? `wait:${a.reason}` : a.type === 'report' ? `report:${a.would}:${a.fresh ? 'new' : 'old'}` : a.type}`,
  );

const zombie = (name: string, extra: PodShape = {}) => pod({ name, ready: false, readySince: 0, ...extra });
const healthy = (name: string, extra: PodShape = {}) => pod({ name, ...extra });
/** Ready to the kubelet but crash looping: counts as available. */
const readyZombie = (name: string, extra: PodShape = {}) =>
  pod({ name, restarts: 9, lastTerminatedAt: 59 * MIN, ...extra });

const evictedAt = (ms: number, name = 'old-pod'): RemediationRecord => record(at(ms), name, 'NotReady: x', 'Evict');

describe('planRemediation', () => {
  it('evicts a zombie and leaves healthy pods alone', () => {
    const p = plan([zombie('a'), healthy('b')]);
    expect(summary(p.actions)).toEqual(['a:evict']);
    expect(p.actions[0]).toMatchObject({ zombie: 'NotReady' });
  });

  it('says when a pod that is not Ready yet would become a zombie', () => {
    const p = plan([pod({ name: 'a', ready: false, readySince: 58 * MIN })]);
    expect(p.actions).toEqual([]);
    expect(p.recheckAt).toEqual(at(63 * MIN));
  });

  describe('maxEvictionsPerHour', () => {
    it('stops at the budget and says when the next slot frees', () => {
      const p = plan([zombie('a'), zombie('b'), zombie('c')], { policy: policyOf({ maxEvictionsPerHour: 2 }) });
      expect(summary(p.actions)).toEqual(['a:evict', 'b:evict', 'c:wait:BudgetExhausted']);
    });

    it('counts the last hour of status.remediations (a restarted operator keeps its budget)', () => {
      const history = [evictedAt(-10 * MIN), evictedAt(5 * MIN), evictedAt(20 * MIN)];
      const p = plan([zombie('a')], { history, policy: policyOf({ maxEvictionsPerHour: 2 }) });
      // The entry at -10 min is older than an hour at NOW (+60 min); two remain.
      expect(summary(p.actions)).toEqual(['a:wait:BudgetExhausted']);
      expect(p.recheckAt).toEqual(at(65 * MIN));
      expect(p.actions[0]).toMatchObject({
        detail: 'maxEvictionsPerHour 2 used; the next slot frees at 2026-03-01T11:05:00Z',
      });
      // One minute after the oldest counted entry leaves the window, the slot is free.
      expect(
        summary(
          plan([zombie('a')], { history, now: at(65 * MIN + 1), policy: policyOf({ maxEvictionsPerHour: 2 }) }).actions,
        ),
      ).toEqual(['a:evict']);
    });

    it('counts force deletes, and not dry-run reports, against the real budget', () => {
      const history = [record(at(50 * MIN), 'x', 'r', 'ForceDelete'), record(at(50 * MIN), 'y', 'r', 'DryRunEvict')];
      expect(summary(plan([zombie('a')], { history, policy: policyOf({ maxEvictionsPerHour: 1 }) }).actions)).toEqual([
        'a:wait:BudgetExhausted',
      ]);
      expect(
        summary(plan([zombie('a')], { history: [history[1]!], policy: policyOf({ maxEvictionsPerHour: 1 }) }).actions),
      ).toEqual(['a:evict']);
    });

    it('never acts with a budget of 0', () => {
      const p = plan([zombie('a')], { policy: policyOf({ maxEvictionsPerHour: 0 }) });
      expect(summary(p.actions)).toEqual(['a:wait:BudgetExhausted']);
      expect(p.recheckAt).toBeUndefined();
    });
  });

  describe('minAvailable', () => {
    it('evicts a Ready zombie only while the component keeps minAvailable Ready pods', () => {
      const p = plan([readyZombie('a'), readyZombie('b'), readyZombie('c')], { policy: policyOf({ minAvailable: 2 }) });
      expect(summary(p.actions)).toEqual(['a:evict', 'b:wait:MinAvailable', 'c:wait:MinAvailable']);
      expect(p.actions[1]).toMatchObject({ detail: 'component extproc has 2 Ready pods and minAvailable is 2' });
    });

    it('never lets the last Ready pod go with minAvailable 1', () => {
      expect(summary(plan([readyZombie('a'), zombie('b')]).actions)).toEqual(['a:wait:MinAvailable', 'b:evict']);
    });

    it('does not count pods already on their way out', () => {
      const p = plan([readyZombie('a'), healthy('b', { deletedAt: 55 * MIN }), healthy('c')], {
        inProgress: new Set(['uid-c']),
      });
      expect(summary(p.actions)).toEqual(['a:wait:MinAvailable']);
    });

    it('counts each component on its own', () => {
      const p = plan([
        readyZombie('e1', { component: 'envoy' }),
        healthy('e2', { component: 'envoy' }),
        readyZombie('x1'),
        zombie('x2'),
      ]);
      expect(summary(p.actions)).toEqual(['e1:evict', 'x1:wait:MinAvailable', 'x2:evict']);
    });

    it('removes not-Ready zombies whatever minAvailable says: they are not available anyway', () => {
      expect(summary(plan([zombie('a'), zombie('b')], { policy: policyOf({ minAvailable: 5 }) }).actions)).toEqual([
        'a:evict',
        'b:evict',
      ]);
    });
  });

  describe('dryRun', () => {
    it('reports instead of acting, with the same budget and availability rules', () => {
      const p = plan([readyZombie('a'), readyZombie('b'), zombie('c'), zombie('d')], {
        policy: policyOf({ dryRun: true, maxEvictionsPerHour: 2 }),
      });
      expect(summary(p.actions)).toEqual([
        'a:report:evict:new',
        'b:wait:MinAvailable',
        'c:report:evict:new',
        'd:wait:BudgetExhausted',
      ]);
      expect(p.actions.map(recordAction)).toEqual(['DryRunEvict', undefined, 'DryRunEvict', undefined]);
    });

    it('reports a pod once an hour, and its report keeps counting against the pretend budget', () => {
      const history = [record(at(30 * MIN), 'a', 'NotReady: x', 'DryRunEvict')];
      const p = plan([zombie('a'), zombie('b')], {
        history,
        policy: policyOf({ dryRun: true, maxEvictionsPerHour: 1 }),
      });
      expect(summary(p.actions)).toEqual(['a:report:evict:old', 'b:wait:BudgetExhausted']);
      expect(p.actions.map(recordAction)).toEqual([undefined, undefined]);
    });
  });

  describe('force delete', () => {
    const lost = (since: number) => node('node-b', { ready: false, since });

    it('force-deletes a pod terminating on a node NotReady past the bound (5 min)', () => {
      const p = plan([zombie('a', { node: 'node-b', deletedAt: 50 * MIN })], {
        nodes: [node('node-a'), lost(55 * MIN)],
      });
      expect(summary(p.actions)).toEqual(['a:force-delete']);
      expect(p.actions[0]).toMatchObject({ zombie: 'TerminatingOnNotReadyNode' });
    });

    it('waits while the node has been NotReady for less than the bound', () => {
      const p = plan([healthy('a', { node: 'node-b', deletedAt: 50 * MIN })], { nodes: [lost(55 * MIN + 1)] });
      expect(summary(p.actions)).toEqual(['a:wait:NodeNotReadyTooShort']);
      expect(p.recheckAt).toEqual(at(60 * MIN + 1));
    });

    it('force-deletes on a node tainted out-of-service at once', () => {
      const p = plan([healthy('a', { node: 'node-b', deletedAt: 59 * MIN })], {
        nodes: [node('node-b', { ready: false, since: 59 * MIN, outOfService: true })],
      });
      expect(summary(p.actions)).toEqual(['a:force-delete']);
    });

    it('never force-deletes a pod on a Ready node', () => {
      const onReady = [healthy('a', { deletedAt: 0 }), zombie('b'), readyZombie('c', { deletedAt: 0 })];
      const p = plan([...onReady, healthy('d'), healthy('e')]);
      expect(p.actions.filter((a) => a.type === 'force-delete')).toEqual([]);
      expect(summary(p.actions)).toEqual(['b:evict']);
    });

    it('force-deletes a zombie that is not terminating yet when its node is gone past the bound', () => {
      const p = plan([zombie('a', { node: 'node-b' })], { nodes: [lost(0)] });
      expect(summary(p.actions)).toEqual(['a:force-delete']);
    });

    it("honours the operator's bound", () => {
      const policy = remediationPolicy({ remediation: { enabled: true } }, { forceDeleteAfterMs: 30 * MIN });
      const pods = [healthy('a', { node: 'node-b', deletedAt: 0 })];
      expect(summary(plan(pods, { policy, nodes: [lost(35 * MIN)] }).actions)).toEqual(['a:wait:NodeNotReadyTooShort']);
      expect(summary(plan(pods, { policy, nodes: [lost(30 * MIN)] }).actions)).toEqual(['a:force-delete']);
    });
  });

  describe('the eviction API and PDBs', () => {
    it('waits out a refusal (429) and tries again after it', () => {
      const refusals = new Map([
        [
          'uid-a',
          { retryAt: at(61 * MIN), message: "Cannot evict pod as it would violate the pod's disruption budget." },
        ],
      ]);
      const p = plan([zombie('a'), zombie('b')], { refusals, policy: policyOf({ maxEvictionsPerHour: 1 }) });
      // The refused pod does not hold the budget: the next zombie gets its turn.
      expect(summary(p.actions)).toEqual(['a:wait:EvictionRefused', 'b:evict']);
      expect(p.recheckAt).toEqual(at(61 * MIN));
      expect(summary(plan([zombie('a')], { refusals, now: at(61 * MIN) }).actions)).toEqual(['a:evict']);
    });

    it('does not ask the Eviction API to do what it cannot: a pod under two PDBs', () => {
      const sel = (labels: Record<string, string>) => ({ selector: { matchLabels: labels } });
      const pdbs = [
        {
          metadata: { name: 'eu-extproc', namespace: 'shop' },
          spec: sel({ 'app.kubernetes.io/component': 'extproc' }),
        },
        {
          metadata: { name: 'all-gatehouse', namespace: 'shop' },
          spec: sel({ 'app.kubernetes.io/part-of': 'gatehouse' }),
        },
        {
          metadata: { name: 'elsewhere', namespace: 'other' },
          spec: sel({ 'app.kubernetes.io/part-of': 'gatehouse' }),
        },
      ];
      const p = plan([zombie('a')], { pdbs });
      expect(summary(p.actions)).toEqual(['a:wait:MultiplePDBs']);
      expect(p.actions[0]).toMatchObject({ detail: expect.stringContaining('(all-gatehouse, eu-extproc)') as unknown });
      expect(summary(plan([zombie('a')], { pdbs: pdbs.slice(0, 1) }).actions)).toEqual(['a:evict']);
      // Force deletes bypass PDBs (as the Eviction API does for terminating pods).
      expect(
        summary(
          plan([zombie('a', { node: 'node-b', deletedAt: 0 })], {
            pdbs,
            nodes: [node('node-b', { ready: false, since: 0 })],
          }).actions,
        ),
      ).toEqual(['a:force-delete']);
    });
  });

  it('does not repeat an action in flight', () => {
    expect(summary(plan([zombie('a')], { inProgress: new Set(['uid-a']) }).actions)).toEqual(['a:wait:InProgress']);
  });

  it('acts on the most certain kinds first: terminating on a lost node, crash loops, then NotReady', () => {
    const p = plan([zombie('a'), readyZombie('b'), healthy('c', { node: 'node-b', deletedAt: 0 }), healthy('d')], {
      nodes: [node('node-a'), node('node-b', { ready: false, since: 0 })],
      policy: policyOf({ maxEvictionsPerHour: 2 }),
    });
    expect(summary(p.actions)).toEqual(['c:force-delete', 'b:evict', 'a:wait:BudgetExhausted']);
  });

  it('is deterministic', () => {
    const pods = [zombie('b'), zombie('a'), readyZombie('c')];
    expect(plan(pods)).toEqual(plan([...pods].reverse()));
  });
});
