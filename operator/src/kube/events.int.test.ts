// Events written as the chart's restricted identity (events.k8s.io: create, patch) on a real
// kube-apiserver: one Event per distinct occurrence, repeats folded into its series.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, operatorKubeConfig } from '../../../e2e/env/kubeconfig.ts';
import { EventRecorder, type EventTarget } from './events.ts';
import { KubeRest, resourcePath } from './rest.ts';

interface Event {
  metadata: { name: string; namespace: string };
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  type: string;
  reason: string;
  action: string;
  note: string;
  regarding: Record<string, string>;
  related?: Record<string, string>;
  series?: { count: number; lastObservedTime: string };
}

describe('EventRecorder on a real apiserver', () => {
  const admin = new KubeRest(adminKubeConfig());
  const operator = new KubeRest(operatorKubeConfig());
  const namespace = `gatehouse-events-${Date.now().toString(36)}`;
  const lines: { msg?: string }[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg?: string }) });
  let target: EventTarget;
  let clock = new Date('2026-05-01T10:00:00.123Z');
  const recorder = new EventRecorder({
    rest: operator,
    controller: 'gatehouse.dev/operator',
    instance: 'gatehouse-operator-0',
    log,
    now: () => clock,
  });
  const events = async () =>
    (await admin.list<Event>(resourcePath({ group: 'events.k8s.io', version: 'v1', resource: 'events', namespace })))
      .items;

  beforeAll(async () => {
    await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    target = await admin.create<EventTarget>(
      resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'apiproxies', namespace }),
      {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'ApiProxy',
        metadata: { name: 'orders' },
        spec: { basePath: '/orders', target: { url: 'http://127.0.0.1:9090' } },
      },
    );
  });
  afterAll(async () => {
    // No namespace controller runs here: delete what tests elsewhere could list cluster-wide.
    await admin.delete(
      resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'apiproxies', namespace }),
    );
    await admin.delete(`/api/v1/namespaces/${namespace}`);
  });

  it('creates an Event, then folds a repeat into its series instead of creating another', async () => {
    recorder.event(target, 'Warning', 'RefNotFound', 'Resolve', 'ApiPolicy shop/verify-key not found');
    await recorder.flush();
    const [first, ...others] = await events();
    expect(others).toEqual([]);
    expect(first).toMatchObject({
      reportingController: 'gatehouse.dev/operator',
      reportingInstance: 'gatehouse-operator-0',
      type: 'Warning',
      reason: 'RefNotFound',
      action: 'Resolve',
      note: 'ApiPolicy shop/verify-key not found',
      eventTime: '2026-05-01T10:00:00.123000Z',
      regarding: {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'ApiProxy',
        namespace,
        name: 'orders',
        uid: target.metadata.uid,
      },
    });
    expect(first!.metadata.name).toMatch(/^orders\.[0-9a-f]+$/);
    expect(first!.series).toBeUndefined();

    clock = new Date('2026-05-01T10:01:00.000Z');
    recorder.event(target, 'Warning', 'RefNotFound', 'Resolve', 'ApiPolicy shop/verify-key not found');
    await recorder.flush();
    const [again, ...none] = await events();
    expect(none).toEqual([]);
    expect(again!.metadata.name).toBe(first!.metadata.name);
    expect(again!.series).toEqual({ count: 2, lastObservedTime: '2026-05-01T10:01:00.000000Z' });

    // Several repeats before the writer catches up: one patch with the final count.
    recorder.event(target, 'Warning', 'RefNotFound', 'Resolve', 'ApiPolicy shop/verify-key not found');
    recorder.event(target, 'Warning', 'RefNotFound', 'Resolve', 'ApiPolicy shop/verify-key not found');
    await recorder.flush();
    expect((await events())[0]?.series?.count).toBe(4);
    expect(lines).toEqual([]);
  });

  it('starts a new Event for a different note, after the 6-minute window, and truncates long notes to 1 KiB', async () => {
    const before = (await events()).length;
    recorder.event(target, 'Normal', 'Programmed', 'Compile', 'served by 2 data planes', {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'DataPlane',
      metadata: { name: 'eu', namespace },
    });
    clock = new Date(clock.getTime() + 7 * 60_000);
    recorder.event(target, 'Warning', 'RefNotFound', 'Resolve', 'ApiPolicy shop/verify-key not found');
    recorder.event(target, 'Warning', 'CompileFailed', 'Compile', 'é'.repeat(1000));
    await recorder.flush();
    const all = await events();
    expect(all).toHaveLength(before + 3);
    expect(all.find((e) => e.reason === 'Programmed')?.related).toMatchObject({ kind: 'DataPlane', name: 'eu' });
    const long = all.find((e) => e.reason === 'CompileFailed')!;
    expect(Buffer.byteLength(long.note)).toBe(1024);
    expect(all.filter((e) => e.reason === 'RefNotFound')).toHaveLength(2);
    expect(lines).toEqual([]);
  });

  it('puts Events of cluster-scoped objects in default and never throws when a write fails', async () => {
    const node: EventTarget = { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${namespace}` } };
    recorder.event(node, 'Warning', 'NodeNotReady', 'Remediate', 'node has been NotReady for 5m');
    await recorder.flush();
    const inDefault = (
      await admin.list<Event>(
        resourcePath({ group: 'events.k8s.io', version: 'v1', resource: 'events', namespace: 'default' }),
      )
    ).items;
    const mine = inDefault.filter((e) => e.regarding.name === node.metadata.name);
    expect(mine).toHaveLength(1);
    // A namespace that does not exist: the apiserver refuses, the recorder logs.
    recorder.event(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'no-such-namespace' } },
      'Normal',
      'X',
      'Y',
      'z',
    );
    await recorder.flush();
    expect(lines.map((l) => l.msg)).toEqual(['cannot write an event']);
    await admin.delete(
      resourcePath({
        group: 'events.k8s.io',
        version: 'v1',
        resource: 'events',
        namespace: 'default',
        name: mine[0]!.metadata.name,
      }),
    );
  });
});
