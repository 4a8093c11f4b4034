// Fewer, clearer Events (docs/operations.md#events): one root cause, one Warning. An ApiProxy that
// stays invalid (it conflicts with an accepted one) turns Accepted, Programmed and Ready False and
// Stalled True in one status write; through several reconciles (another proxy's edits recompile and
// re-evaluate every status, an edit of its own metadata requeues it) the apiserver holds exactly one
// Warning Event about it, naming the consequences.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { resourcePath } from '../../operator/src/kube/rest.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { Cluster, conditionOf, eventually, hasConditions, operatorKubeConfig, type Obj } from './kube.ts';

const api = 'gatehouse.dev/v1alpha1';
const proxy = (namespace: string, name: string, spec: Record<string, unknown>, extra: Partial<Obj> = {}): Obj => ({
  apiVersion: api,
  kind: 'ApiProxy',
  metadata: { name, namespace, ...extra.metadata },
  spec,
});

interface EventObj {
  type: string;
  reason: string;
  note: string;
  regarding: { kind: string; name: string };
  series?: { count: number };
}

describe('Events: one root cause, one Warning', () => {
  const cluster = new Cluster();
  let ns = '';
  let operator: KubeOperator;

  beforeAll(async () => {
    ns = await cluster.operatorNamespace('events');
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: silentLog,
      namespace: ns,
      watchNamespace: ns,
      identity: 'events-0',
      host: '127.0.0.1',
      xdsPort: 0,
      debounceMs: 20,
      nodeReports: { heartbeatMs: 500, debounceMs: 50, staleAfterMs: 3_000 },
    });
    await eventually('leads', () => operator.isLeader());
  });

  afterAll(async () => {
    await operator?.stop();
  });

  const warningsAbout = async (name: string) =>
    (
      await cluster.rest.list<EventObj>(
        resourcePath({ group: 'events.k8s.io', version: 'v1', resource: 'events', namespace: ns }),
      )
    ).items.filter((e) => e.type === 'Warning' && e.regarding.kind === 'ApiProxy' && e.regarding.name === name);

  it('an ApiProxy that stays invalid through several reconciles has exactly one Warning Event', async () => {
    await cluster.apply(proxy(ns, 'zz-ledger', { basePath: '/ledger', target: { url: 'http://127.0.0.1:9093' } }));
    await eventually('zz-ledger accepted', async () =>
      hasConditions(await cluster.get('ApiProxy', ns, 'zz-ledger'), { Accepted: 'True', Programmed: 'True' }),
    );
    await cluster.apply(proxy(ns, 'aa-ledger', { basePath: '/ledger', target: { url: 'http://127.0.0.1:9094' } }));
    const loser = await eventually('aa-ledger Conflicted and Stalled', async () => {
      const o = await cluster.get('ApiProxy', ns, 'aa-ledger');
      return hasConditions(o, { Accepted: 'False', Programmed: 'False', Ready: 'False', Stalled: 'True' }) && o;
    });
    expect(conditionOf(loser, 'Accepted')).toMatchObject({ reason: 'Conflicted' });

    // Several reconciles with the problem unchanged: another proxy edited (a recompile re-evaluates
    // every status), the loser's own metadata touched (requeued on its own).
    for (let generation = 1; generation <= 3; generation++) {
      await cluster.apply(
        proxy(ns, 'stock', { basePath: '/stock', target: { url: `http://127.0.0.1:${9100 + generation}` } }),
      );
      await eventually(`stock generation ${generation} programmed`, async () => {
        const o = await cluster.get('ApiProxy', ns, 'stock');
        return o?.metadata.generation === generation && hasConditions(o, { Programmed: 'True' });
      });
      await cluster.apply(
        proxy(
          ns,
          'aa-ledger',
          { basePath: '/ledger', target: { url: 'http://127.0.0.1:9094' } },
          { metadata: { name: 'aa-ledger', labels: { touched: String(generation) } } },
        ),
      );
    }
    const [warning, ...more] = await eventually('the Warning', async () => {
      const found = await warningsAbout('aa-ledger');
      return found.length > 0 ? found : undefined;
    });
    expect(more).toEqual([]);
    expect(warning).toMatchObject({ reason: 'Conflicted' });
    expect(warning!.note).toMatch(/^Accepted is False: .*\(so Programmed False, Ready False, Stalled True\)$/);
    // The status went on being evaluated: still the same condition, and still one Warning.
    expect(hasConditions(await cluster.get('ApiProxy', ns, 'aa-ledger'), { Accepted: 'False' })).toBe(true);
    expect(await warningsAbout('aa-ledger')).toHaveLength(1);
  });
});
