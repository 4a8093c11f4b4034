// The informer factory against an in-memory apiserver: one watch per distinct spec, views for the specs
// a broader watch covers (whatever the order they are asked for in), late and released specs, and the
// informers' restart-on-error semantics seen through a view.
import type * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../../e2e/env/eventually.ts';
import { InformerFactoryError } from './errors.ts';
import { InformerFactory, specCovers, type InformerSpec } from './informer-factory.ts';
import type { InformerEvent } from './informer.ts';
import { KubeMetrics } from './metrics.ts';
import type { KubeRest, Query, WatchEvent } from './rest.ts';
import { matchesFields, matchesLabels, parseSelector } from './selector.ts';

const log = pino({ level: 'silent' });

interface Obj extends k8s.KubernetesObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
}

interface Watcher {
  collection: string;
  namespace?: string;
  query: Query;
  onEvent: (e: WatchEvent<Obj>) => void;
  fail: (err: Error) => void;
}

/** Collections by path (namespace left out), list and watch with selectors, a watch that can be broken. */
class FakeApi {
  private readonly objects = new Map<string, Obj>();
  private readonly watchers = new Set<Watcher>();
  private rv = 1;
  /** Every list and watch made: "LIST path?labelSelector&fieldSelector". */
  readonly calls: string[] = [];

  readonly rest = {
    list: (path: string, query: Query = {}) => {
      const { collection, namespace } = split(path);
      this.calls.push(`LIST ${path}?${String(query.labelSelector ?? '')}&${String(query.fieldSelector ?? '')}`);
      const items = [...this.objects.entries()]
        .filter(([k, o]) => k.startsWith(`${collection}|`) && this.selects(o, namespace, query))
        .map(([, o]) => structuredClone(o));
      return Promise.resolve({ items, metadata: { resourceVersion: String(this.rv) } });
    },
    watch: (path: string, query: Query, onEvent: (e: WatchEvent<Obj>) => void, options: { signal?: AbortSignal }) => {
      const { collection, namespace } = split(path);
      this.calls.push(`WATCH ${path}?${String(query.labelSelector ?? '')}&${String(query.fieldSelector ?? '')}`);
      return new Promise<void>((resolve, reject) => {
        const w: Watcher = {
          collection,
          namespace,
          query,
          onEvent,
          fail: (err) => {
            this.watchers.delete(w);
            reject(err);
          },
        };
        this.watchers.add(w);
        options.signal?.addEventListener('abort', () => {
          this.watchers.delete(w);
          resolve();
        });
      });
    },
  } as unknown as KubeRest;

  /** Open watches, as "path?labelSelector&fieldSelector". */
  get open(): number {
    return this.watchers.size;
  }

  watchCalls(): string[] {
    return this.calls.filter((c) => c.startsWith('WATCH'));
  }

  put(collection: string, obj: Obj, quiet = false): void {
    const key = `${collection}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
    const before = this.objects.get(key);
    const stored: Obj = structuredClone({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } });
    this.objects.set(key, stored);
    if (quiet) return;
    for (const w of [...this.watchers]) {
      if (w.collection !== collection) continue;
      const was = before !== undefined && this.selects(before, w.namespace, w.query);
      const is = this.selects(stored, w.namespace, w.query);
      // As the apiserver's watch cache: an object that stops matching a selector is DELETED for that watch.
      if (is) w.onEvent({ type: was ? 'MODIFIED' : 'ADDED', object: structuredClone(stored) });
      else if (was) w.onEvent({ type: 'DELETED', object: structuredClone(stored) });
    }
  }

  remove(collection: string, namespace: string | undefined, name: string, quiet = false): void {
    const key = `${collection}|${namespace ?? ''}|${name}`;
    const before = this.objects.get(key);
    if (!before) return;
    this.objects.delete(key);
    this.rv++;
    if (quiet) return;
    for (const w of [...this.watchers])
      if (w.collection === collection && this.selects(before, w.namespace, w.query))
        w.onEvent({ type: 'DELETED', object: structuredClone(before) });
  }

  /** Every open watch fails (a broken connection). */
  breakWatches(): void {
    for (const w of [...this.watchers]) w.fail(new Error('connection reset'));
  }

  private selects(o: Obj, namespace: string | undefined, query: Query): boolean {
    return (
      (namespace === undefined || o.metadata.namespace === namespace) &&
      matchesLabels(parseSelector(query.labelSelector as string | undefined), o.metadata.labels) &&
      matchesFields(parseSelector(query.fieldSelector as string | undefined), o.metadata)
    );
  }
}

function split(path: string): { collection: string; namespace?: string } {
  const m = /^(.*?)\/namespaces\/([^/]+)(\/[^/]+)$/.exec(path);
  return m ? { collection: `${m[1]}${m[3]}`, namespace: m[2] } : { collection: path };
}

const secrets = '/api/v1/secrets';
const services = '/api/v1/services';
const secret = (namespace: string, name: string, labels: Record<string, string> = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace, labels },
});
const spec = (name: string, extra: Partial<InformerSpec> = {}): InformerSpec => ({
  name,
  version: 'v1',
  resource: 'secrets',
  ...extra,
});
const names = (objects: k8s.KubernetesObject[]) =>
  objects.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`).sort();

function factory(api: FakeApi, metrics?: KubeMetrics) {
  return new InformerFactory({ rest: api.rest, log, metrics, backoff: { initialMs: 20, maxMs: 50 } });
}

describe('InformerFactory', () => {
  it('makes one watch for a spec asked for twice, and both askers read the same cache', async () => {
    const api = new FakeApi();
    api.put(secrets, secret('a', 's1', { credential: 'true' }));
    const f = factory(api);
    const one = f.lister(spec('creds', { namespace: 'a', labelSelector: 'credential' }));
    const two = f.lister(spec('creds-again', { labelSelector: 'credential', namespace: 'a' }));
    await f.start();
    expect(api.watchCalls()).toEqual(['WATCH /api/v1/namespaces/a/secrets?credential&']);
    expect(names(one.list())).toEqual(['a/s1']);
    expect(two.get('a', 's1')).toBe(one.get('a', 's1'));
    expect(f.describe()).toMatchObject({
      informers: [{ name: 'creds', path: '/api/v1/namespaces/a/secrets' }],
      views: [],
    });
    await f.stop();
  });

  it('serves a narrower spec as a view of a broader watch, asked for in either order', async () => {
    for (const order of ['narrow first', 'broad first']) {
      const api = new FakeApi();
      api.put(services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'edge-envoy', namespace: 'a', labels: { m: 'g', c: 'envoy' } },
      });
      api.put(services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'backend', namespace: 'a' } });
      api.put(services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'other', namespace: 'b', labels: { m: 'g', c: 'envoy' } },
      });
      const f = factory(api);
      const svc = { version: 'v1', resource: 'services' };
      const askEnvoy = () => f.lister({ name: 'envoy-services', ...svc, namespace: 'a', labelSelector: 'm=g,c=envoy' });
      const askAll = () => f.lister({ name: 'services', ...svc });
      const envoy = order === 'narrow first' ? askEnvoy() : undefined;
      const all = askAll();
      const view = envoy ?? askEnvoy();
      await f.start();
      expect(api.watchCalls(), order).toEqual(['WATCH /api/v1/services?&']);
      expect(names(all.list())).toEqual(['a/backend', 'a/edge-envoy', 'b/other']);
      expect(names(view.list())).toEqual(['a/edge-envoy']);
      expect(view.get('b', 'other')).toBeUndefined();
      expect(f.describe().views).toEqual([{ name: 'envoy-services', of: 'services' }]);
      await f.stop();
    }
  });

  it('tells a view’s handlers what enters and leaves it, with the old object on update', async () => {
    const api = new FakeApi();
    const f = factory(api);
    const all = f.lister(spec('all', { namespace: 'a' }));
    const view = f.lister(spec('managed', { namespace: 'a', labelSelector: 'managed=yes' }));
    const seen: string[] = [];
    view.onChange((event: InformerEvent, obj, old) =>
      seen.push(
        `${event} ${obj.metadata?.name} ${obj.metadata?.labels?.v ?? ''}${old ? ` (was ${old.metadata?.labels?.v ?? ''})` : ''}`,
      ),
    );
    await f.start();
    api.put(secrets, secret('a', 'x', { managed: 'yes', v: '1' }));
    api.put(secrets, secret('a', 'y', { v: '1' }));
    api.put(secrets, secret('a', 'x', { managed: 'yes', v: '2' }));
    api.put(secrets, secret('a', 'x', { v: '3' })); // leaves the view
    api.put(secrets, secret('a', 'y', { managed: 'yes', v: '2' })); // enters it
    api.remove(secrets, 'a', 'y');
    await eventually('every change seen', () => seen.length === 5 && all.list().length === 1);
    expect(seen).toEqual(['add x 1', 'update x 2 (was 1)', 'delete x 2 (was 2)', 'add y 2', 'delete y 2 (was 2)']);
    expect(view.list()).toEqual([]);
    // A handler subscribed after the sync first gets an add for every object of the view.
    api.put(secrets, secret('a', 'z', { managed: 'yes' }));
    await eventually('z cached', () => view.get('a', 'z'));
    const late: string[] = [];
    view.onChange((event, obj) => late.push(`${event} ${obj.metadata?.name}`));
    expect(late).toEqual(['add z']);
    await f.stop();
  });

  it('covers only what a cache can filter: namespace, label and name, never widening a watch', () => {
    const s = (extra: Partial<InformerSpec>) => spec('x', extra);
    expect(specCovers(s({}), s({ namespace: 'a' }))).toBe(true);
    expect(specCovers(s({ namespace: 'a' }), s({}))).toBe(false);
    expect(specCovers(s({ namespace: 'a' }), s({ namespace: 'b' }))).toBe(false);
    expect(specCovers(s({ labelSelector: 'k' }), s({ labelSelector: 'k', fieldSelector: 'metadata.name=n' }))).toBe(
      true,
    );
    expect(specCovers(s({}), s({ fieldSelector: 'type=kubernetes.io/tls' }))).toBe(false);
    expect(specCovers(s({ labelSelector: 'a' }), s({ labelSelector: 'b' }))).toBe(false);
    expect(specCovers(s({}), { ...s({}), resource: 'configmaps' })).toBe(false);
    expect(specCovers(s({ labelSelector: 'k' }), s({ labelSelector: 'k' }))).toBe(false); // the same: one watch, no view
  });

  it('resolves a spec asked for after start against the watches there, or starts a watch of its own', async () => {
    const api = new FakeApi();
    api.put(secrets, secret('a', 'key', { credential: 'true' }));
    api.put(secrets, secret('ops', 'key', { credential: 'true' }));
    const f = factory(api);
    f.lister(spec('creds', { labelSelector: 'credential', namespace: 'a' }));
    await f.start();
    const covered = f.lister(
      spec('key-a', { namespace: 'a', labelSelector: 'credential', fieldSelector: 'metadata.name=key' }),
    );
    expect(covered.synced).toBe(true);
    expect(names(covered.list())).toEqual(['a/key']);
    const apart = f.lister(
      spec('key-ops', { namespace: 'ops', labelSelector: 'credential', fieldSelector: 'metadata.name=key' }),
    );
    await apart.whenSynced();
    expect(names(apart.list())).toEqual(['ops/key']);
    expect(api.watchCalls()).toEqual([
      'WATCH /api/v1/namespaces/a/secrets?credential&',
      'WATCH /api/v1/namespaces/ops/secrets?credential&metadata.name=key',
    ]);
    await f.stop();
  });

  it('stops an acquired informer when its last user releases it, and forgets its metrics', async () => {
    const api = new FakeApi();
    api.put(secrets, secret('a', 'user-ca'));
    const registry = new Registry();
    const f = factory(api, new KubeMetrics(registry));
    f.lister(spec('creds', { labelSelector: 'credential' }));
    await f.start();
    const caSpec = spec('user-ca-a-user-ca', { namespace: 'a', fieldSelector: 'metadata.name=user-ca' });
    const first = f.acquire(caSpec);
    const second = f.acquire(caSpec);
    await first.lister.whenSynced();
    expect(first.lister.get('a', 'user-ca')).toBeDefined();
    expect(api.open).toBe(2);
    first.release();
    first.release(); // twice is once
    expect(api.open).toBe(2);
    second.release();
    await eventually('the watch closed and its series gone', async () => {
      const text = await registry.metrics();
      return api.open === 1 && !text.includes('user-ca-a-user-ca');
    });
    expect(f.describe().informers.map((i) => i.name)).toEqual(['creds']);
    // Wanted again: a new watch.
    const again = f.acquire(caSpec);
    await again.lister.whenSynced();
    expect(api.open).toBe(2);
    again.release();
    await f.stop();
  });

  it('refuses one name for two different watches', async () => {
    const f = factory(new FakeApi());
    f.lister(spec('secrets', { labelSelector: 'a' }));
    f.lister(spec('secrets', { labelSelector: 'b' }));
    await expect(f.start()).rejects.toThrow(InformerFactoryError);
  });

  it('keeps the informers’ restart semantics: after a broken watch the re-list reaches the views as exact differences', async () => {
    const api = new FakeApi();
    api.put(secrets, secret('a', 'stays', { m: 'g' }));
    api.put(secrets, secret('a', 'goes', { m: 'g' }));
    const f = factory(api);
    f.lister(spec('all', { namespace: 'a' }));
    const view = f.lister(spec('managed', { namespace: 'a', labelSelector: 'm=g' }));
    const seen: string[] = [];
    view.onChange((event, obj) => seen.push(`${event} ${obj.metadata?.name}`));
    await f.start();
    expect(seen.sort()).toEqual(['add goes', 'add stays']);
    seen.length = 0;
    // While the watch is down: one object deleted, one added, neither seen by a watch.
    api.breakWatches();
    api.remove(secrets, 'a', 'goes', true);
    api.put(secrets, secret('a', 'new', { m: 'g' }), true);
    await eventually('re-listed', () => seen.length === 2);
    expect(seen.sort()).toEqual(['add new', 'delete goes']);
    expect(names(view.list())).toEqual(['a/new', 'a/stays']);
    expect(api.calls.filter((c) => c.startsWith('LIST'))).toHaveLength(2);
    await f.stop();
  });
});
