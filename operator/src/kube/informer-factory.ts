// Shared informers, like client-go's SharedInformerFactory: every controller asks the factory for the
// collection it reads, as an InformerSpec (resource, namespace scope, label and field selector), and
// gets a Lister: get, list (all, or one namespace: the cache is indexed by namespace) and change
// handlers. The factory makes one Informer (one list+watch) per distinct spec, starts them together
// and waits for their sync, so two controllers reading the same collection share one watch and one
// cache.
//
// Beyond client-go: a spec that a broader one covers is served as a filtered view of the broader
// informer instead of a watch of its own. Covers means the same resource, the broader one's namespace
// scope containing the narrower's (all namespaces, or the same one), every label requirement of the
// broader one among the narrower's, and its field selector too (what the narrower adds must be on
// metadata.name or metadata.namespace, which a cache can evaluate). A view costs no watch, no decoding
// and no copy of the objects, only an index of references, so it is taken whenever such a broader
// informer exists; the factory never widens a watch to make one (that would cost memory and RBAC).
// Specs asked for before start() are resolved together at start(), so the order in which controllers
// ask does not matter; one asked for later becomes a view of an informer already there, or a watch of
// its own, started at once.
//
// acquire() is for collections wanted for a while (one Secret by name while a DataPlane names it):
// released by every user, the informer stops and its metrics go.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.ts';
import { InformerFactoryError, InformerStoppedError } from './errors.ts';
import {
  Informer,
  withoutBookkeeping,
  type InformerEvent,
  type InformerHandler,
  type InformerOptions,
} from './informer.ts';
import type { KubeMetrics } from './metrics.ts';
import { resourcePath, type KubeRest } from './rest.ts';
import {
  fieldsEvaluable,
  matchesFields,
  matchesLabels,
  parseSelector,
  selectorCovers,
  type Requirement,
  type Selector,
} from './selector.ts';

/** A collection to list and watch. */
export interface InformerSpec {
  /** The informer's name in logs and metrics, should this spec get a watch of its own. */
  name: string;
  /** '' or undefined for the core group. */
  group?: string;
  version: string;
  resource: string;
  /** One namespace; undefined for all namespaces (and for cluster-scoped resources). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** A typed read-only view of a shared cache. Cached objects are shared: treat them as read-only. */
export interface Lister<T extends k8s.KubernetesObject = k8s.KubernetesObject> {
  /** The name of the spec it was asked for by. */
  readonly name: string;
  /** True once the cache behind it holds a complete list (stays true across re-lists). */
  readonly synced: boolean;
  get(namespace: string | undefined, name: string): T | undefined;
  /** Cached objects of one namespace (an index lookup), or of all. */
  list(namespace?: string): T[];
  /**
   * Subscribes to changes (add, update, delete, with the old object on update); returns the
   * unsubscribe. Subscribed after the sync, it first gets an 'add' for every cached object. Handlers
   * run synchronously in cache order; what they throw is logged, never propagated.
   */
  onChange(handler: InformerHandler<T>): () => void;
  /** Resolves once synced; rejects when the factory stops first. */
  whenSynced(): Promise<void>;
}

export interface InformerFactoryOptions {
  rest: KubeRest;
  log: Logger;
  metrics?: KubeMetrics;
  /**
   * Applied to every object before it is cached (client-go's TransformFunc), in every informer.
   * Default withoutBookkeeping: no controller reads managedFields or kubectl's last-applied copy.
   */
  transform?: (obj: k8s.KubernetesObject) => k8s.KubernetesObject;
  backoff?: InformerOptions['backoff'];
  watchTimeoutSeconds?: number;
}

/** What the factory runs, for tests, logs and /debug. */
export interface FactoryDescription {
  /** One entry per watch; `acquired`: held by acquire() alone, for as long as it is wanted. */
  informers: {
    name: string;
    path: string;
    labelSelector?: string;
    fieldSelector?: string;
    synced: boolean;
    acquired: boolean;
  }[];
  /** Specs served by another informer's cache. */
  views: { name: string; of: string }[];
}

type Obj = k8s.KubernetesObject;

/** What a Lister reads from: an Informer, or a view of one. */
interface Store {
  readonly synced: boolean;
  get(namespace: string | undefined, name: string): Obj | undefined;
  list(namespace?: string): Obj[];
  onChange(handler: InformerHandler<Obj>): () => void;
}

interface ParsedSpec {
  spec: InformerSpec;
  key: string;
  gvr: string;
  labels: Selector;
  fields: Selector;
}

function parse(spec: InformerSpec): ParsedSpec {
  const labels = parseSelector(spec.labelSelector);
  const fields = parseSelector(spec.fieldSelector);
  const gvr = `${spec.group ?? ''}/${spec.version}/${spec.resource}`;
  return { spec, gvr, labels, fields, key: `${gvr}|${spec.namespace ?? '*'}|${labels.canonical}|${fields.canonical}` };
}

const extra = (broad: Selector, narrow: Selector): Requirement[] => {
  const have = new Set(broad.requirements.map((r) => JSON.stringify(r)));
  return narrow.requirements.filter((r) => !have.has(JSON.stringify(r)));
};

/** Whether `broad`'s cache holds everything `narrow` selects, and the rest can be filtered out locally. */
export function specCovers(broad: InformerSpec, narrow: InformerSpec): boolean {
  return covers(parse(broad), parse(narrow));
}

function covers(broad: ParsedSpec, narrow: ParsedSpec): boolean {
  return (
    broad.key !== narrow.key &&
    broad.gvr === narrow.gvr &&
    (broad.spec.namespace === undefined || broad.spec.namespace === narrow.spec.namespace) &&
    selectorCovers(broad.labels, narrow.labels) &&
    selectorCovers(broad.fields, narrow.fields) &&
    fieldsEvaluable({ requirements: extra(broad.fields, narrow.fields), canonical: '' })
  );
}

/** The best broader informer for a view: the narrowest (most requirements, namespaced), then by name. */
function narrowestFirst(a: ParsedSpec, b: ParsedSpec): number {
  const weight = (p: ParsedSpec) =>
    p.labels.requirements.length + p.fields.requirements.length + (p.spec.namespace === undefined ? 0 : 1);
  return weight(b) - weight(a) || (a.spec.name < b.spec.name ? -1 : a.spec.name > b.spec.name ? 1 : 0);
}

/** The objects of a broader informer that a narrower spec selects, kept as references, with their own handlers. */
class View implements Store {
  private readonly parent: Store;
  private readonly namespace?: string;
  private readonly labels: Selector;
  private readonly fields: Selector;
  private readonly log: Logger;
  private readonly handlers = new Set<InformerHandler<Obj>>();
  private readonly index = new Map<string, Map<string, Obj>>();
  readonly detach: () => void;

  constructor(parent: Store, broad: ParsedSpec, narrow: ParsedSpec, log: Logger) {
    this.parent = parent;
    this.namespace = broad.spec.namespace === undefined ? narrow.spec.namespace : undefined;
    this.labels = { requirements: extra(broad.labels, narrow.labels), canonical: '' };
    this.fields = { requirements: extra(broad.fields, narrow.fields), canonical: '' };
    this.log = log;
    this.detach = parent.onChange((event, obj, old) => this.receive(event, obj, old));
  }

  get synced(): boolean {
    return this.parent.synced;
  }

  get(namespace: string | undefined, name: string): Obj | undefined {
    return this.index.get(namespace ?? '')?.get(name);
  }

  list(namespace?: string): Obj[] {
    if (namespace !== undefined) return [...(this.index.get(namespace)?.values() ?? [])];
    return [...this.index.values()].flatMap((objects) => [...objects.values()]);
  }

  onChange(handler: InformerHandler<Obj>): () => void {
    this.handlers.add(handler);
    if (this.parent.synced) for (const obj of this.list()) this.call(handler, 'add', obj);
    return () => this.handlers.delete(handler);
  }

  private selects(obj: Obj): boolean {
    return (
      (this.namespace === undefined || obj.metadata?.namespace === this.namespace) &&
      matchesLabels(this.labels, obj.metadata?.labels) &&
      matchesFields(this.fields, obj.metadata)
    );
  }

  /** The parent's change as this view sees it: an object that stops matching leaves (delete), one that starts matching joins (add). */
  private receive(event: InformerEvent, obj: Obj, _old?: Obj): void {
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    const held = this.index.get(ns)?.get(name);
    const now = event !== 'delete' && this.selects(obj);
    if (now) {
      let objects = this.index.get(ns);
      if (!objects) this.index.set(ns, (objects = new Map<string, Obj>()));
      objects.set(name, obj);
      this.emit(held ? 'update' : 'add', obj, held);
    } else if (held) {
      const objects = this.index.get(ns)!;
      objects.delete(name);
      if (objects.size === 0) this.index.delete(ns);
      this.emit('delete', event === 'delete' ? obj : held, held);
    }
  }

  private emit(event: InformerEvent, obj: Obj, old?: Obj): void {
    for (const handler of [...this.handlers]) this.call(handler, event, obj, old);
  }

  private call(handler: InformerHandler<Obj>, event: InformerEvent, obj: Obj, old?: Obj): void {
    const fail = (err: unknown) =>
      this.log.error(
        { err: (err as Error).message, event, object: `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}` },
        'informer handler failed',
      );
    try {
      const result = handler(event, obj, old) as unknown;
      if (result instanceof Promise) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}

/** One watch and the specs it serves. */
interface Root {
  parsed: ParsedSpec;
  path: string;
  informer: Informer<Obj>;
  /** Specs served by it: its own, and the views of it. Empty: stopped and forgotten. */
  users: Set<Entry>;
  started?: Promise<void>;
}

/** A spec as asked for, and the one Lister every asker of it shares. */
class Entry implements Lister<Obj> {
  readonly parsed: ParsedSpec;
  /** Held by lister() for good, or by acquire() until released. */
  permanent = false;
  acquired = 0;
  store?: Store;
  root?: Root;
  view?: View;
  private readonly subscriptions = new Map<InformerHandler<Obj>, (() => void) | undefined>();
  private readonly resolvedOnce: Promise<void>;
  private resolveStore!: () => void;
  private rejectStore!: (err: Error) => void;

  constructor(parsed: ParsedSpec) {
    this.parsed = parsed;
    this.resolvedOnce = new Promise<void>((resolve, reject) => {
      this.resolveStore = resolve;
      this.rejectStore = reject;
    });
    this.resolvedOnce.catch(() => {});
  }

  get name(): string {
    return this.parsed.spec.name;
  }

  get synced(): boolean {
    return this.store?.synced ?? false;
  }

  get(namespace: string | undefined, name: string): Obj | undefined {
    return this.store?.get(namespace, name);
  }

  list(namespace?: string): Obj[] {
    return this.store?.list(namespace) ?? [];
  }

  onChange(handler: InformerHandler<Obj>): () => void {
    this.subscriptions.set(handler, this.store?.onChange(handler));
    return () => {
      this.subscriptions.get(handler)?.();
      this.subscriptions.delete(handler);
    };
  }

  async whenSynced(): Promise<void> {
    await this.resolvedOnce;
    const root = this.root!;
    if (root.informer.synced) return;
    if (!root.started) throw new InformerStoppedError(this.name);
    await root.started;
  }

  attach(store: Store, root: Root, view?: View): void {
    this.store = store;
    this.root = root;
    this.view = view;
    for (const handler of this.subscriptions.keys()) this.subscriptions.set(handler, store.onChange(handler));
    this.resolveStore();
  }

  detachAll(): void {
    for (const unsubscribe of this.subscriptions.values()) unsubscribe?.();
    this.subscriptions.clear();
    this.view?.detach();
    this.rejectStore(new InformerStoppedError(this.name));
  }
}

export class InformerFactory {
  private readonly o: InformerFactoryOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly roots = new Map<string, Root>();
  private started = false;
  private stopped = false;

  constructor(options: InformerFactoryOptions) {
    this.o = options;
  }

  /** The shared cache of `spec`, for as long as the factory runs. */
  lister<T extends Obj = Obj>(spec: InformerSpec): Lister<T> {
    const entry = this.entry(spec);
    entry.permanent = true;
    return entry as unknown as Lister<T>;
  }

  /**
   * The shared cache of `spec` until release() (every acquirer's): then its informer stops, unless
   * something else still reads it. Started at once when the factory already runs.
   */
  acquire<T extends Obj = Obj>(spec: InformerSpec): { lister: Lister<T>; release(): void } {
    const entry = this.entry(spec);
    entry.acquired++;
    let released = false;
    return {
      lister: entry as unknown as Lister<T>,
      release: () => {
        if (released) return;
        released = true;
        entry.acquired--;
        if (entry.acquired === 0 && !entry.permanent) this.drop(entry);
      },
    };
  }

  /**
   * Resolves every spec asked for so far (watches and views), starts the informers not started yet,
   * and resolves once all of them have synced. Safe to call again (by every controller's start()).
   */
  async start(): Promise<void> {
    this.stopped = false;
    if (!this.started) {
      this.started = true;
      this.resolvePending();
    }
    const started = [...this.roots.values()].map((root) => (root.started ??= root.informer.start()));
    await Promise.all(started);
  }

  /** Stops every informer and waits for their loops to end; the caches keep their last content. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.roots.values()].map((r) => r.informer.stop()));
    for (const root of this.roots.values()) root.started = undefined;
  }

  /** True once every informer has synced. */
  get synced(): boolean {
    return this.started && [...this.roots.values()].every((r) => r.informer.synced);
  }

  describe(): FactoryDescription {
    const informers = [...this.roots.values()].map((r) => ({
      name: r.parsed.spec.name,
      path: r.path,
      ...(r.parsed.spec.labelSelector ? { labelSelector: r.parsed.spec.labelSelector } : {}),
      ...(r.parsed.spec.fieldSelector ? { fieldSelector: r.parsed.spec.fieldSelector } : {}),
      synced: r.informer.synced,
      acquired: ![...r.users].some((e) => e.permanent),
    }));
    const views = [...this.entries.values()]
      .filter((e) => e.view && e.root)
      .map((e) => ({ name: e.name, of: e.root!.parsed.spec.name }));
    const byName = <X extends { name: string }>(a: X, b: X) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return { informers: informers.sort(byName), views: views.sort(byName) };
  }

  private entry(spec: InformerSpec): Entry {
    const parsed = parse(spec);
    let entry = this.entries.get(parsed.key);
    if (!entry) {
      entry = new Entry(parsed);
      this.entries.set(parsed.key, entry);
      if (this.started) this.resolveLate(entry);
    }
    return entry;
  }

  /** At start: the specs no other spec covers get a watch; every other one is a view of the narrowest watch covering it. */
  private resolvePending(): void {
    const pending = [...this.entries.values()].filter((e) => !e.store);
    const all = [...this.entries.values()];
    const isRoot = (e: Entry) => !all.some((o) => covers(o.parsed, e.parsed));
    for (const e of pending.filter(isRoot)) this.makeRoot(e);
    for (const e of pending.filter((x) => !x.store)) {
      const root = this.coveringRoot(e);
      if (root) this.makeView(e, root);
      else this.makeRoot(e);
    }
  }

  /** After start: a view of a watch already there, or a watch of its own started at once. */
  private resolveLate(entry: Entry): void {
    // The watch of a spec released while views of it stayed: its own again.
    const same = this.roots.get(entry.parsed.key);
    if (same) {
      same.users.add(entry);
      entry.attach(same.informer, same);
      return;
    }
    const root = this.coveringRoot(entry);
    if (root) {
      this.makeView(entry, root);
      return;
    }
    const made = this.makeRoot(entry);
    if (!this.stopped) made.started = made.informer.start();
  }

  private coveringRoot(entry: Entry): Root | undefined {
    return [...this.roots.values()]
      .filter((r) => covers(r.parsed, entry.parsed))
      .sort((a, b) => narrowestFirst(a.parsed, b.parsed))[0];
  }

  private makeRoot(entry: Entry): Root {
    const { spec } = entry.parsed;
    for (const r of this.roots.values())
      if (r.parsed.spec.name === spec.name)
        throw new InformerFactoryError(
          `informer name ${spec.name} is taken by another watch (${r.parsed.key}, asked for ${entry.parsed.key})`,
        );
    const path = resourcePath({
      group: spec.group || undefined,
      version: spec.version,
      resource: spec.resource,
      namespace: spec.namespace,
    });
    const informer = new Informer<Obj>({
      rest: this.o.rest,
      name: spec.name,
      path,
      labelSelector: spec.labelSelector,
      fieldSelector: spec.fieldSelector,
      log: this.o.log,
      metrics: this.o.metrics,
      transform: this.o.transform ?? withoutBookkeeping,
      backoff: this.o.backoff,
      watchTimeoutSeconds: this.o.watchTimeoutSeconds,
    });
    const root: Root = { parsed: entry.parsed, path, informer, users: new Set([entry]) };
    this.roots.set(entry.parsed.key, root);
    entry.attach(informer, root);
    return root;
  }

  private makeView(entry: Entry, root: Root): void {
    const view = new View(root.informer, root.parsed, entry.parsed, this.o.log.child({ view: entry.name }));
    root.users.add(entry);
    entry.attach(view, root, view);
  }

  /** A released spec: its subscriptions and view go; its informer stops when nothing else reads it. */
  private drop(entry: Entry): void {
    this.entries.delete(entry.parsed.key);
    const root = entry.root;
    entry.detachAll();
    if (!root) return;
    root.users.delete(entry);
    if (root.users.size > 0) return;
    this.roots.delete(root.parsed.key);
    const name = root.parsed.spec.name;
    void root.informer.stop().then(() => this.o.metrics?.forgetInformer(name));
  }
}
