// A list+watch cache of one collection, with client-go reflector semantics: list, then watch from the
// list's resourceVersion (bookmarks on); a watch the apiserver ends normally is resumed from the last
// resourceVersion without a list; any error (410 Expired, a broken connection, the apiserver down, a
// 5xx) restarts the cycle after an exponential backoff with jitter and re-lists, and the re-list is
// reconciled against the cache so handlers see exactly the differences (gone: delete, changed: update).
//
// Written on KubeRest instead of client-node's ListWatch (2.0.1, dist/cache.js and watch.js), which
// cannot give these guarantees: after any error other than 410 or its client-side timeout (a refused
// list, a 5xx, a broken connection) it calls its error callbacks and stops for good, and start() again
// resumes the watch from the old resourceVersion without re-listing; it backs off only between watch
// reconnects; it delivers updates without the old object; its Watch silently skips frames that do not
// parse and reports a refused watch without the apiserver's message; and it never asks for bookmarks.
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.ts';
import { InformerStoppedError, isGone } from './errors.ts';
import type { KubeMetrics } from './metrics.ts';
import type { KubeRest, Query, WatchEvent } from './rest.ts';

export interface InformerOptions {
  /** Not needed: list and watch go through `rest`, which carries the KubeConfig. Accepted so callers may pass it. */
  kc?: k8s.KubeConfig;
  rest: KubeRest;
  /** For logs and metrics, e.g. "apiproxies". */
  name: string;
  /** Collection path, e.g. /apis/gatehouse.dev/v1alpha1/apiproxies or /api/v1/namespaces/x/pods. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  log: Logger;
  /** Restart backoff: initial 200 ms doubling to 30 s, each delay jittered up to twice its value (capped at maxMs); back to initial after `resetAfterMs` (60 s) of health. */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  metrics?: KubeMetrics;
  /** Server-side watch timeout; default a random 300-600 s per watch, as client-go, to spread reconnects. */
  watchTimeoutSeconds?: number;
  /** Applied to every object before it is cached (client-go's TransformFunc): drop what no reader needs. */
  transform?: (obj: k8s.KubernetesObject) => k8s.KubernetesObject;
}

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (event: InformerEvent, obj: T, old?: T) => void;

/** Exponential backoff with jitter: min(max, d * (1 + random)) where d doubles from initial to max. */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private currentMs: number;

  constructor(initialMs: number, maxMs: number, random: () => number = Math.random) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.random = random;
    this.currentMs = initialMs;
  }

  next(): number {
    const base = this.currentMs;
    this.currentMs = Math.min(this.maxMs, this.currentMs * 2);
    return Math.min(this.maxMs, Math.round(base * (1 + this.random())));
  }

  reset(): void {
    this.currentMs = this.initialMs;
  }
}

type Obj = k8s.KubernetesObject;

export class Informer<T extends k8s.KubernetesObject = k8s.KubernetesObject> {
  private readonly options: InformerOptions;
  private readonly log: Logger;
  private readonly handlers = new Set<InformerHandler<T>>();
  /** namespace ('' for cluster-scoped) -> name -> object. */
  private readonly cache = new Map<string, Map<string, T>>();
  private readonly backoff: Backoff;
  private readonly resetAfterMs: number;
  private size = 0;
  private resourceVersion = '';
  private hasSynced = false;
  private stopping = false;
  private abort?: AbortController;
  private loop?: Promise<void>;
  private started?: Promise<void>;
  private settleStart?: { resolve: () => void; reject: (err: Error) => void };

  constructor(options: InformerOptions) {
    this.options = options;
    this.log = options.log.child({ informer: options.name });
    this.backoff = new Backoff(options.backoff?.initialMs ?? 200, options.backoff?.maxMs ?? 30_000);
    this.resetAfterMs = options.backoff?.resetAfterMs ?? 60_000;
  }

  /**
   * Subscribes to changes; returns the unsubscribe function. A handler subscribed after the cache has
   * synced first gets an 'add' for every cached object (as client-go's AddEventHandler). Handlers run
   * synchronously in cache order; what they throw (or reject) is logged, never propagated.
   */
  onChange(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    if (this.hasSynced) for (const obj of this.list()) this.call(handler, 'add', obj);
    return () => this.handlers.delete(handler);
  }

  /** Starts listing and watching; resolves once the first list has filled the cache. */
  start(): Promise<void> {
    if (this.started) return this.started;
    this.stopping = false;
    this.abort = new AbortController();
    this.started = new Promise<void>((resolve, reject) => (this.settleStart = { resolve, reject }));
    this.started.catch(() => {});
    if (this.hasSynced) this.settleStart!.resolve();
    this.loop = this.run(this.abort.signal);
    return this.started;
  }

  /** Stops watching and waits for the loop to end. The cache keeps its last content. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.abort?.abort();
    await this.loop;
    if (!this.hasSynced) this.settleStart?.reject(new InformerStoppedError(this.options.name));
    this.options.metrics?.informerSynced.set({ informer: this.options.name }, 0);
    this.loop = undefined;
    this.started = undefined;
  }

  /** True once the first list has filled the cache (client-go HasSynced); stays true across restarts. */
  get synced(): boolean {
    return this.hasSynced;
  }

  /** The resourceVersion the cache is at (the last list's, or the last watch event's or bookmark's). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  /** Cached objects, of one namespace or all; the cache's own objects: treat as read-only. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.cache.get(namespace)?.values() ?? [])];
    const all: T[] = [];
    for (const objects of this.cache.values()) for (const obj of objects.values()) all.push(obj);
    return all;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ?? '')?.get(name);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { name } = this.options;
    let needList = true;
    let healthySince: number | undefined;
    while (!this.stopping) {
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
          healthySince = performance.now();
        }
        const started = performance.now();
        const events = await this.watchOnce(signal);
        // Ended normally (the apiserver's timeoutSeconds): resume from the last resourceVersion. A watch
        // that ends at once with nothing in it is not normal (a proxy cutting streams): back off first.
        if (events === 0 && performance.now() - started < 1_000 && !this.stopping) {
          const delay = this.backoff.next();
          this.log.warn({ delayMs: delay }, 'watch ended at once without events; resuming after a backoff');
          await sleep(delay, undefined, { signal });
        }
      } catch (err) {
        if (this.stopping) break;
        if (healthySince !== undefined && performance.now() - healthySince >= this.resetAfterMs) this.backoff.reset();
        healthySince = undefined;
        needList = true;
        const delay = this.backoff.next();
        this.options.metrics?.informerRestarts.inc({ informer: name });
        this.options.metrics?.informerSynced.set({ informer: name }, 0);
        // 410 is routine (the resourceVersion was compacted away); anything else deserves a warning.
        const level = isGone(err) ? 'info' : 'warn';
        this.log[level]({ err: describe(err), delayMs: delay }, 'list/watch failed; re-listing after a backoff');
        try {
          await sleep(delay, undefined, { signal });
        } catch {
          break; // stopped
        }
      }
    }
  }

  private selectors(): Query {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  /**
   * Lists and reconciles the cache with the list: gone -> delete, new -> add, changed (another
   * resourceVersion) -> update, same -> nothing. The cache is replaced first, then handlers are told,
   * so a handler reading the cache sees the whole list.
   */
  private async relist(signal: AbortSignal): Promise<void> {
    const list = await this.options.rest.list<T>(this.options.path, this.selectors(), { signal, timeoutMs: 60_000 });
    if (this.stopping) return;
    const fresh = new Map<string, Map<string, T>>();
    const changes: [InformerEvent, T, T | undefined][] = [];
    let size = 0;
    const transform = this.options.transform;
    for (const item of list.items) {
      const obj = transform ? (transform(item) as T) : item;
      const [ns, name] = identity(obj);
      let objects = fresh.get(ns);
      if (!objects) fresh.set(ns, (objects = new Map<string, T>()));
      const old = this.cache.get(ns)?.get(name);
      if (!old) changes.push(['add', obj, undefined]);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) changes.push(['update', obj, old]);
      if (!objects.has(name)) size++;
      // Unchanged objects keep their identity, so references handlers hold stay current.
      objects.set(name, old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion ? old : obj);
    }
    const deletes: [InformerEvent, T, T][] = [];
    for (const [ns, objects] of this.cache) {
      for (const [name, old] of objects) if (!fresh.get(ns)?.has(name)) deletes.push(['delete', old, old]);
    }
    this.cache.clear();
    for (const [ns, objects] of fresh) this.cache.set(ns, objects);
    this.size = size;
    this.resourceVersion = list.metadata.resourceVersion;
    for (const [event, obj, old] of deletes) this.emit(event, obj, old);
    for (const [event, obj, old] of changes) this.emit(event, obj, old);
    this.options.metrics?.informerSynced.set({ informer: this.options.name }, 1);
    this.options.metrics?.informerObjects.set({ informer: this.options.name }, this.size);
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.log.info({ objects: this.size, resourceVersion: this.resourceVersion }, 'informer synced');
      this.settleStart?.resolve();
    } else {
      this.log.info(
        { objects: this.size, resourceVersion: this.resourceVersion, changes: deletes.length + changes.length },
        'informer re-listed',
      );
    }
  }

  /** One watch from the current resourceVersion; resolves with the number of events when it ends normally. */
  private async watchOnce(signal: AbortSignal): Promise<number> {
    const timeoutSeconds = this.options.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()));
    let events = 0;
    await this.options.rest.watch<T>(
      this.options.path,
      {
        ...this.selectors(),
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      (event) => {
        events++;
        this.apply(event);
      },
      { signal, idleTimeoutMs: (timeoutSeconds + 60) * 1000 },
    );
    return events;
  }

  private apply(event: WatchEvent<T>): void {
    const transform = this.options.transform;
    const obj = transform && event.type !== 'BOOKMARK' ? (transform(event.object) as T) : event.object;
    const rv = obj?.metadata?.resourceVersion;
    if (event.type !== 'BOOKMARK') {
      const [ns, name] = identity(obj);
      const old = this.cache.get(ns)?.get(name);
      if (event.type === 'DELETED') {
        if (old) {
          this.remove(ns, name);
          this.emit('delete', obj, old);
        }
      } else {
        this.upsert(obj);
      }
      this.options.metrics?.informerObjects.set({ informer: this.options.name }, this.size);
    }
    if (rv) this.resourceVersion = rv;
  }

  private upsert(obj: T): void {
    const [ns, name] = identity(obj);
    let objects = this.cache.get(ns);
    if (!objects) this.cache.set(ns, (objects = new Map<string, T>()));
    const old = objects.get(name);
    if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    objects.set(name, obj);
    if (!old) {
      this.size++;
      this.emit('add', obj);
    } else {
      this.emit('update', obj, old);
    }
  }

  private remove(ns: string, name: string): void {
    const objects = this.cache.get(ns);
    if (objects?.delete(name)) {
      this.size--;
      if (objects.size === 0) this.cache.delete(ns);
    }
  }

  private emit(event: InformerEvent, obj: T, old?: T): void {
    this.options.metrics?.informerEvents.inc({ informer: this.options.name, event });
    for (const handler of [...this.handlers]) this.call(handler, event, obj, old);
  }

  private call(handler: InformerHandler<T>, event: InformerEvent, obj: T, old?: T): void {
    const fail = (err: unknown) =>
      this.log.error({ err: describe(err), event, object: objectName(obj) }, 'informer handler failed');
    try {
      const result = handler(event, obj, old) as unknown;
      if (result instanceof Promise) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}

function identity(obj: Obj): [string, string] {
  return [obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''];
}

function objectName(obj: Obj): string {
  const [ns, name] = identity(obj);
  return ns ? `${ns}/${name}` : name;
}

function describe(err: unknown): { message: string; code?: string } {
  if (err instanceof Error) return { message: err.message, code: (err as { code?: string }).code };
  return { message: String(err) };
}

/**
 * What every informer caches of an object (the informer factory's default transform, client-go's
 * TransformFunc in the spirit of controller-runtime's cache transforms): without managedFields and
 * the copy of the whole object kubectl keeps in last-applied-configuration, which no controller reads
 * and which can be most of an object's size; and with status.lastAccepted.spec (what the status
 * controller records, docs/architecture.md#the-operator) the very object spec is when the two are
 * equal, as they are for every object whose current generation is accepted, instead of a second copy.
 * Per object cached at 1,000 proxies and 10,000 apps: docs/architecture.md, The operator at scale.
 */
export function withoutBookkeeping(obj: Obj): Obj {
  return withSharedConditionStrings(sharingAcceptedSpec(withoutFieldsAndLastApplied(obj)));
}

/**
 * Strings that status conditions repeat across thousands of objects ("Programmed", "True", "generation
 * 1 is in the served configuration", a lastTransitionTime), one copy each instead of one per object:
 * JSON.parse makes a new string for every value. Bounded: a full table starts over, so hostile objects
 * with ever new values cost nothing but the dedupe.
 */
const sharedStrings = new Map<string, string>();
const maxSharedStrings = 4096;
const maxSharedLength = 96;

function shared(value: unknown): unknown {
  if (typeof value !== 'string' || value.length > maxSharedLength) return value;
  const held = sharedStrings.get(value);
  if (held !== undefined) return held;
  if (sharedStrings.size >= maxSharedStrings) sharedStrings.clear();
  sharedStrings.set(value, value);
  return value;
}

function withSharedConditionStrings(obj: Obj): Obj {
  const status = (obj as { status?: unknown }).status;
  const conditions =
    typeof status === 'object' && status !== null ? (status as { conditions?: unknown }).conditions : undefined;
  if (!Array.isArray(conditions)) return obj;
  const copies = conditions.map((c: unknown) => {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) return c;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c as Record<string, unknown>)) out[k] = shared(v);
    return out;
  });
  return { ...obj, status: { ...(status as object), conditions: copies } } as Obj;
}

function withoutFieldsAndLastApplied(obj: Obj): Obj {
  const meta = obj.metadata;
  if (!meta || (!meta.managedFields && !meta.annotations?.['kubectl.kubernetes.io/last-applied-configuration']))
    return obj;
  const { managedFields: _managedFields, ...rest } = meta;
  if (rest.annotations?.['kubectl.kubernetes.io/last-applied-configuration']) {
    const { 'kubectl.kubernetes.io/last-applied-configuration': _lastApplied, ...annotations } = rest.annotations;
    rest.annotations = annotations;
  }
  return { ...obj, metadata: rest };
}

function sharingAcceptedSpec(obj: Obj): Obj {
  const o = obj as Obj & { spec?: unknown; status?: { lastAccepted?: { spec?: unknown } } };
  const accepted = o.status?.lastAccepted;
  if (
    typeof o.spec !== 'object' ||
    o.spec === null ||
    typeof accepted !== 'object' ||
    accepted === null ||
    accepted.spec === o.spec ||
    !isDeepStrictEqual(accepted.spec, o.spec)
  )
    return obj;
  return { ...o, status: { ...o.status, lastAccepted: { ...accepted, spec: o.spec } } } as Obj;
}
