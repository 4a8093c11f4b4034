// Informers on a real kube-apiserver: changes reach handlers and the cache (as the chart's restricted
// identity, on our CRDs), label selectors are honoured, normal watch ends are resumed without a
// re-list, and a cache survives a kube-apiserver restart, converging on what changed during the gap.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../../e2e/env/controlplane.ts';
import { eventually } from '../../../e2e/env/eventually.ts';
import { adminKubeConfig, loadKubeconfigFile, operatorKubeConfig } from '../../../e2e/env/kubeconfig.ts';
import { ensureTestBinaries } from '../../../e2e/env/testbin.ts';
import { KubeConnectionError } from './errors.ts';
import { Informer, type InformerEvent } from './informer.ts';
import { KubeMetrics } from './metrics.ts';
import {
  KubeRest,
  resourcePath,
  type KubeList,
  type Query,
  type RequestOptions,
  type WatchEvent,
  type WatchOptions,
} from './rest.ts';

const log = pino({ level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent' });

/** Counts lists; while `closed`, fails every request as if the apiserver could not be reached. */
class GatedRest extends KubeRest {
  lists = 0;
  closed = false;
  override request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T> {
    if (this.closed)
      return Promise.reject(new KubeConnectionError({ method, path, message: 'gate closed by the test' }));
    return super.request<T>(method, path, options);
  }
  override list<T>(
    path: string,
    query?: Query,
    options?: Pick<RequestOptions, 'timeoutMs' | 'signal'>,
  ): Promise<KubeList<T>> {
    this.lists++;
    return super.list<T>(path, query, options);
  }
  /** Watches that ended without an error (the apiserver's timeout ends them so). */
  watchesEnded = 0;
  override watch<T = k8s.KubernetesObject>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    options?: WatchOptions,
  ): Promise<void> {
    if (this.closed)
      return Promise.reject(new KubeConnectionError({ method: 'WATCH', path, message: 'gate closed by the test' }));
    return super.watch<T>(path, query, onEvent, options).then(() => {
      this.watchesEnded++;
    });
  }
}

interface Seen {
  event: InformerEvent;
  name: string;
  value?: unknown;
  old?: unknown;
}

function record<T extends k8s.KubernetesObject>(informer: Informer<T>, value: (o: T) => unknown): Seen[] {
  const seen: Seen[] = [];
  informer.onChange((event, obj, old) =>
    seen.push({ event, name: obj.metadata!.name!, value: value(obj), old: old && value(old) }),
  );
  return seen;
}

type ApiProxy = k8s.KubernetesObject & { spec: { basePath: string; target: { url: string } } };

describe('Informer on the shared test apiserver, as the operator identity', () => {
  const admin = new KubeRest(adminKubeConfig());
  const operatorKc = operatorKubeConfig();
  const namespace = `gatehouse-informer-${Date.now().toString(36)}`;
  const collection = resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'apiproxies', namespace });
  const proxy = (name: string, basePath: string, labels: Record<string, string> = {}) => ({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiProxy',
    metadata: { name, labels },
    spec: { basePath, target: { url: 'http://127.0.0.1:9090' } },
  });
  const informers: Informer<ApiProxy>[] = [];
  const informer = (
    options: { labelSelector?: string; rest?: KubeRest; watchTimeoutSeconds?: number; metrics?: KubeMetrics } = {},
  ) => {
    const i = new Informer<ApiProxy>({
      kc: operatorKc,
      rest: options.rest ?? new KubeRest(operatorKc),
      name: 'apiproxies',
      path: collection,
      log,
      ...options,
    });
    informers.push(i);
    return i;
  };

  beforeAll(async () => {
    await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  });
  afterAll(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    // No namespace controller runs here: delete what tests elsewhere could list cluster-wide.
    await admin.delete(collection);
    await admin.delete(`/api/v1/namespaces/${namespace}`);
  });

  it('fills the cache, then delivers add, update and delete to handlers and the cache', async () => {
    await admin.create(collection, proxy('existing', '/existing'));
    const registry = new Registry();
    const apiproxies = informer({ metrics: new KubeMetrics(registry) });
    const seen = record(apiproxies, (o) => o.spec.basePath);
    expect(apiproxies.synced).toBe(false);
    await apiproxies.start();
    expect(apiproxies.synced).toBe(true);
    expect(seen).toEqual([{ event: 'add', name: 'existing', value: '/existing' }]);
    // Raw JSON, shaped like a watch object: apiVersion and kind present, timestamps still strings.
    const cached = apiproxies.get(namespace, 'existing')!;
    expect(cached).toMatchObject({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiProxy',
      spec: { basePath: '/existing', target: { url: 'http://127.0.0.1:9090' } },
    });
    expect(typeof cached.metadata!.creationTimestamp).toBe('string');

    await admin.create(collection, proxy('orders', '/orders'));
    await eventually('add orders', () => apiproxies.get(namespace, 'orders') !== undefined);
    await admin.mergePatch(`${collection}/orders`, { spec: { basePath: '/orders/v2' } });
    await eventually('update orders', () => apiproxies.get(namespace, 'orders')?.spec.basePath === '/orders/v2');
    await admin.delete(`${collection}/orders`);
    await eventually('delete orders', () => apiproxies.get(namespace, 'orders') === undefined);

    expect(seen.slice(1)).toEqual([
      { event: 'add', name: 'orders', value: '/orders' },
      { event: 'update', name: 'orders', value: '/orders/v2', old: '/orders' },
      { event: 'delete', name: 'orders', value: '/orders/v2', old: '/orders/v2' },
    ]);
    expect(apiproxies.list(namespace).map((o) => o.metadata!.name)).toEqual(['existing']);
    expect(apiproxies.list().length).toBe(1);
    expect(apiproxies.list('elsewhere')).toEqual([]);
    const metrics = await registry.metrics();
    expect(metrics).toContain('gatehouse_operator_informer_synced{informer="apiproxies"} 1');
    expect(metrics).toContain('gatehouse_operator_informer_objects{informer="apiproxies"} 1');

    // A handler subscribed late is replayed the cache; one that throws is logged, nothing else.
    const late: string[] = [];
    apiproxies.onChange(() => {
      throw new Error('handler bug');
    });
    const unsubscribe = apiproxies.onChange((event, obj) => late.push(`${event} ${obj.metadata!.name}`));
    expect(late).toEqual(['add existing']);
    unsubscribe();
    await admin.mergePatch(`${collection}/existing`, { spec: { basePath: '/existing/v2' } });
    await eventually('update existing', () => apiproxies.get(namespace, 'existing')?.spec.basePath === '/existing/v2');
    expect(late).toEqual(['add existing']);
    await admin.delete(`${collection}/existing`);
  });

  it('honours a label selector, objects entering and leaving it included', async () => {
    await admin.create(collection, proxy('gold', '/gold', { tier: 'gold' }));
    await admin.create(collection, proxy('silver', '/silver', { tier: 'silver' }));
    const gold = informer({ labelSelector: 'tier=gold' });
    const seen = record(gold, (o) => o.metadata!.labels?.tier);
    await gold.start();
    expect(gold.list().map((o) => o.metadata!.name)).toEqual(['gold']);
    await admin.mergePatch(`${collection}/silver`, { metadata: { labels: { tier: 'gold' } } });
    await eventually('silver joins', () => gold.get(namespace, 'silver') !== undefined);
    await admin.mergePatch(`${collection}/gold`, { metadata: { labels: { tier: 'bronze' } } });
    await eventually('gold leaves', () => gold.get(namespace, 'gold') === undefined);
    expect(seen.map((s) => `${s.event} ${s.name}`)).toEqual(['add gold', 'add silver', 'delete gold']);
    await admin.delete(`${collection}/gold`);
    await admin.delete(`${collection}/silver`);
  });

  it('resumes a watch the apiserver ended normally from its resourceVersion, without re-listing', async () => {
    const rest = new GatedRest(operatorKc);
    const registry = new Registry();
    const shortWatches = informer({ rest, watchTimeoutSeconds: 2, metrics: new KubeMetrics(registry) });
    await shortWatches.start();
    // A few watches time out on the server side (each after its 2 s timeoutSeconds).
    await eventually('two watches ended by the apiserver', () => rest.watchesEnded >= 2, 60_000);
    await admin.create(collection, proxy('after-timeouts', '/after'));
    await eventually('add after timeouts', () => shortWatches.get(namespace, 'after-timeouts') !== undefined);
    expect(rest.lists).toBe(1);
    expect(await registry.metrics()).not.toMatch(
      /gatehouse_operator_informer_restarts_total\{informer="apiproxies"\} [1-9]/,
    );
    await admin.delete(`${collection}/after-timeouts`);
  });

  it('keeps retrying a list it is not allowed, and start() rejects when stopped before syncing', async () => {
    const lines: { msg?: string; err?: { message: string } }[] = [];
    const capture = pino(
      { level: 'warn' },
      { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) },
    );
    // The chart's ClusterRole grants nothing on limitranges.
    const forbidden = new Informer({
      rest: new KubeRest(operatorKc),
      name: 'limitranges',
      path: `/api/v1/namespaces/${namespace}/limitranges`,
      log: capture,
      backoff: { initialMs: 20, maxMs: 50 },
    });
    const starting = forbidden.start();
    await eventually('two failed attempts', () => lines.length >= 2);
    expect(forbidden.synced).toBe(false);
    expect(lines[0]!.msg).toBe('list/watch failed; re-listing after a backoff');
    expect(lines[0]!.err?.message).toMatch(/403 Forbidden: .*cannot list resource "limitranges"/);
    await forbidden.stop();
    await expect(starting).rejects.toMatchObject({ code: 'GH_ERR_KUBE_INFORMER_STOPPED' });
  });
});

// Needs etcd and kube-apiserver binaries of its own: not on a KUBECONFIG cluster (e2e/kind).
describe.skipIf(process.env.GATEHOUSE_TEST_CLUSTER_MODE === 'kubeconfig')(
  'Informer across a kube-apiserver restart (private control plane)',
  () => {
    let cp: ControlPlane;
    let dir: string;
    let admin: KubeRest;
    const path = '/api/v1/namespaces/default/configmaps';
    const cm = (name: string, v: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, labels: { app: 'restart-test' } },
      data: { v },
    });

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-informer-restart-'));
      cp = await startControlPlane(ensureTestBinaries(), dir);
      admin = new KubeRest(loadKubeconfigFile(cp.adminKubeconfig));
    });
    afterAll(async () => {
      await cp?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('converges on every change made while it could not watch, a delete during the gap included', async () => {
      for (const name of ['a', 'b', 'c']) await admin.create(path, cm(name, '1'));
      const rest = new GatedRest(loadKubeconfigFile(cp.adminKubeconfig), { timeoutMs: 5_000 });
      const registry = new Registry();
      const informer = new Informer<k8s.V1ConfigMap>({
        rest,
        name: 'configmaps',
        path,
        labelSelector: 'app=restart-test',
        log,
        backoff: { initialMs: 100, maxMs: 1_000 },
        metrics: new KubeMetrics(registry),
      });
      const seen = record(informer, (o) => o.data?.v);
      const values = () =>
        Object.fromEntries(
          informer.list('default').map((o): [string, string | undefined] => [o.metadata!.name!, o.data?.v]),
        );
      try {
        await informer.start();
        expect(values()).toEqual({ a: '1', b: '1', c: '1' });
        seen.length = 0;

        // The apiserver goes away under the open watch; the informer cannot reach the new one until the
        // changes below are made, so it must learn them from a re-list, not from watch events.
        rest.closed = true;
        await cp.restartApiserver();
        await admin.delete(`${path}/a`);
        await admin.mergePatch(`${path}/b`, { data: { v: '2' } });
        await admin.create(path, cm('d', '1'));
        rest.closed = false;
        await eventually(
          'the cache converges after the gap',
          () => JSON.stringify(values()) === JSON.stringify({ b: '2', c: '1', d: '1' }),
        );
        expect(seen.map((s) => `${s.event} ${s.name}`).sort()).toEqual(['add d', 'delete a', 'update b']);
        expect(seen.find((s) => s.event === 'update')).toMatchObject({ value: '2', old: '1' });
        expect(await registry.metrics()).toMatch(
          /gatehouse_operator_informer_restarts_total\{informer="configmaps"\} [1-9]/,
        );
        expect(rest.lists).toBeGreaterThanOrEqual(2);

        // Once more with no gate: changes right after the restart reach the cache by whichever path.
        seen.length = 0;
        await cp.restartApiserver();
        await admin.mergePatch(`${path}/c`, { data: { v: '3' } });
        await admin.delete(`${path}/d`);
        await eventually(
          'the cache converges after a plain restart',
          () => JSON.stringify(values()) === JSON.stringify({ b: '2', c: '3' }),
        );
        expect(seen.map((s) => `${s.event} ${s.name}`).sort()).toEqual(['delete d', 'update c']);

        // And it keeps watching afterwards.
        await admin.create(path, cm('e', '1'));
        await eventually('a change after recovery', () => informer.get('default', 'e') !== undefined);
      } finally {
        await informer.stop();
      }
    });
  },
);
