// "The last accepted revision of an object that turned invalid keeps serving" (docs/architecture.md#the-api), in folder
// and kube mode alike. Compile the objects as they are; where an object that served before is now
// rejected for a change of its own (a new revision, see revisionOf), compile again with its last
// accepted revision in its place. Pure: the memory of accepted revisions goes in and comes out.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../compile/canonical-json.ts';
import { compile, type CompileOptions, type CompileResult, type SourceObject } from '../compile/compile.ts';
import { sortDiagnostics, type Diagnostic } from '../compile/diagnostics.ts';
import { idKey, type ObjectId } from '../compile/intake.ts';
import type { StatusCondition } from '../compile/status.ts';

export interface AcceptedRevision {
  object: unknown;
  /** metadata.generation (0 without one): what status reports as observed. */
  generation: number;
  /** revisionOf(object): what tells a change of the object's own from a change around it. */
  revision: string;
}

const revisions = new WeakMap<object, string>();

/**
 * An object's revision: the SHA-256 of what compile reads of it besides its identity (kind,
 * namespace, name), in canonical JSON: apiVersion and spec, and a Secret's data and stringData. Labels,
 * annotations, status and server-kept metadata (generation, resourceVersion, ...) are not part of it.
 * One definition for both modes: objects in a folder have no metadata.generation (and one copied into
 * a manifest is never bumped), so only their content can tell "this object was edited" from "a
 * reference went away"; in a cluster it changes when the apiserver bumps metadata.generation (a spec
 * change), except that an edit undone is the old revision again, which is what it is. Cached per
 * object: sources hand the same object values until they change.
 */
export function revisionOf(object: unknown): string {
  if (typeof object !== 'object' || object === null) return `scalar:${String(object)}`;
  let revision = revisions.get(object);
  if (revision === undefined) {
    const o = object as Record<string, unknown>;
    const content = { apiVersion: o.apiVersion, spec: o.spec, data: o.data, stringData: o.stringData };
    revision = createHash('sha256').update(canonicalJson(content)).digest('hex');
    revisions.set(object, revision);
  }
  return revision;
}

/** What compile made of one object: the conditions of its current generation, and what serves. */
export interface ObjectOutcome {
  id: ObjectId;
  /** The generation the conditions describe (the current one). */
  generation: number;
  /** Accepted and ResolvedRefs of the current generation. */
  conditions: StatusCondition[];
  /** The generation in the published snapshot: the current one, an older accepted one, or none. */
  servingGeneration?: number;
}

export interface FallbackCompile {
  /** The compile that is published. */
  result: CompileResult;
  /**
   * What to report: the published compile's diagnostics, except that an object served at its last
   * accepted revision reports what is wrong with its current one (the published compile has that
   * object's older revision, which is fine).
   */
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** Keyed `Kind/namespace/name`, every object of our kinds. */
  outcomes: Map<string, ObjectOutcome>;
  /** The memory to pass to the next call. */
  lastAccepted: Map<string, AcceptedRevision>;
  /** Objects served at an older revision, keyed like outcomes, with that revision's generation. */
  fallbacks: Map<string, number>;
}

interface Meta {
  kind?: string;
  metadata?: { name?: string; namespace?: string; generation?: number };
}

function keyOf(object: unknown): string | undefined {
  const o = object as Meta | null;
  if (!o?.kind || !o.metadata?.name) return undefined;
  return idKey({ kind: o.kind, namespace: o.metadata.namespace || 'default', name: o.metadata.name });
}

/** Kinds whose status.lastAccepted the status controller (the DataPlane controller for DataPlanes) writes. */
const recordedKinds = new Set([
  'ApiProxy',
  'ApiPolicy',
  'ApiProduct',
  'Developer',
  'DeveloperApp',
  'DataPlane',
  'KeyValueMap',
  'SharedFlow',
]);

/**
 * The last accepted revisions the cluster keeps: status.lastAccepted ({generation, spec}) of each object
 * that has one, as the revision it was (the object with that spec and generation).
 */
export function acceptedFromStatus(objects: readonly SourceObject[]): Map<string, AcceptedRevision> {
  const out = new Map<string, AcceptedRevision>();
  for (const { object } of objects) {
    const key = keyOf(object);
    if (key === undefined) continue;
    const accepted = recordedRevision(object as object);
    if (accepted) out.set(key, accepted);
  }
  return out;
}

/**
 * status.lastAccepted of one object as a revision, cached per object like revisionOf: every rebuild
 * reads it from every object, and hashing 16,000 specs again each time was a third of a rebuild at
 * 1,000 proxies and 10,000 apps (docs/architecture.md, The operator at scale).
 */
const recorded = new WeakMap<object, AcceptedRevision | null>();

function recordedRevision(object: object): AcceptedRevision | undefined {
  const cached = recorded.get(object);
  if (cached !== undefined) return cached ?? undefined;
  const o = object as Meta & { apiVersion?: string; status?: { lastAccepted?: unknown } };
  const last = o.status?.lastAccepted as { generation?: unknown; spec?: unknown } | undefined;
  let accepted: AcceptedRevision | null = null;
  if (
    recordedKinds.has(o.kind!) &&
    last &&
    typeof last.generation === 'number' &&
    typeof last.spec === 'object' &&
    last.spec !== null
  ) {
    const revision = {
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: { ...o.metadata, generation: last.generation },
      spec: last.spec,
    };
    accepted = { object: revision, generation: last.generation, revision: revisionOf(revision) };
  }
  recorded.set(object, accepted);
  return accepted ?? undefined;
}

export function compileKeepingLastAccepted(
  objects: readonly SourceObject[],
  previous: ReadonlyMap<string, AcceptedRevision>,
  options: CompileOptions,
): FallbackCompile {
  const objectByKey = new Map<string, unknown>();
  for (const o of objects) {
    const key = keyOf(o.object);
    if (key !== undefined) objectByKey.set(key, o.object);
  }
  const first = compile(objects, options);
  const substitutes = new Map<string, AcceptedRevision>();
  for (const s of first.accepted) {
    if (s.accepted) continue;
    const key = idKey(s);
    const before = previous.get(key);
    if (before && objectByKey.has(key) && before.revision !== revisionOf(objectByKey.get(key)))
      substitutes.set(key, before);
  }
  // A policy resource ConfigMap (docs/policies.md#resources-from-a-configmap) that changed or went away
  // under a policy that served: the ConfigMap's last accepted data serves until it is fixed, and the
  // policy's status says what is wrong now.
  const configMapSubs = new Map<string, AcceptedRevision>();
  const heldByConfigMap = new Set<string>();
  for (const d of first.errors) {
    if (d.kind !== 'ApiPolicy' || !d.field?.includes('configMapRef')) continue;
    const name = /ConfigMap "([^"]+)"/.exec(d.message)?.[1];
    const key = idKey({ kind: 'ApiPolicy', namespace: d.namespace ?? '', name: d.name ?? '' });
    const cmKey = name && idKey({ kind: 'ConfigMap', namespace: d.namespace ?? '', name });
    const before = cmKey ? previous.get(cmKey) : undefined;
    if (!cmKey || !before || !previous.has(key) || substitutes.has(key)) continue;
    if (objectByKey.has(cmKey) && before.revision === revisionOf(objectByKey.get(cmKey))) continue;
    configMapSubs.set(cmKey, before);
    heldByConfigMap.add(key);
  }
  let published = first;
  if (substitutes.size > 0 || configMapSubs.size > 0) {
    const replaced = objects.map((o) => {
      const key = keyOf(o.object);
      const sub = key === undefined ? undefined : (substitutes.get(key) ?? configMapSubs.get(key));
      return sub ? { object: sub.object, origin: o.origin } : o;
    });
    for (const [key, sub] of configMapSubs) if (!objectByKey.has(key)) replaced.push({ object: sub.object });
    published = compile(replaced, options);
  }

  const currentByKey = new Map(first.accepted.map((s) => [idKey(s), s]));
  const outcomes = new Map<string, ObjectOutcome>();
  const lastAccepted = new Map<string, AcceptedRevision>();
  const fallbacks = new Map<string, number>();
  for (const [key, object] of objectByKey) {
    // Policy resource ConfigMaps: the data each policy last served with (kube mode keeps it in memory only).
    if (!key.startsWith('ConfigMap/')) continue;
    lastAccepted.set(key, configMapSubs.get(key) ?? { object, generation: 0, revision: revisionOf(object) });
  }
  for (const [key, sub] of configMapSubs) lastAccepted.set(key, sub);
  for (const s of published.accepted) {
    const key = idKey(s);
    if (heldByConfigMap.has(key)) {
      const current = currentByKey.get(key)!;
      outcomes.set(key, {
        id: current,
        generation: current.generation,
        conditions: current.conditions,
        servingGeneration: s.accepted ? s.generation : undefined,
      });
      if (s.accepted) {
        lastAccepted.set(key, previous.get(key)!);
        fallbacks.set(key, s.generation);
      }
      continue;
    }
    const sub = substitutes.get(key);
    if (sub) {
      // The conditions say what is wrong with the current generation; the older one serves.
      const current = currentByKey.get(key)!;
      outcomes.set(key, {
        id: current,
        generation: current.generation,
        conditions: current.conditions,
        servingGeneration: s.accepted ? sub.generation : undefined,
      });
      if (s.accepted) {
        lastAccepted.set(key, sub);
        fallbacks.set(key, sub.generation);
      }
      continue;
    }
    outcomes.set(key, {
      id: { kind: s.kind, namespace: s.namespace, name: s.name },
      generation: s.generation,
      conditions: s.conditions,
      servingGeneration: s.accepted ? s.generation : undefined,
    });
    if (s.accepted && objectByKey.has(key)) {
      const object = objectByKey.get(key);
      lastAccepted.set(key, { object, generation: s.generation, revision: revisionOf(object) });
    } else if (!s.accepted && previous.get(key)?.revision === revisionOf(objectByKey.get(key))) {
      // Rejected for a reason outside itself (a reference went away): nothing older would do better,
      // but remember it in case the reference comes back.
      lastAccepted.set(key, previous.get(key)!);
    }
  }
  const current = (d: Diagnostic) => {
    if (d.kind === undefined) return false;
    const key = idKey({ kind: d.kind, namespace: d.namespace ?? '', name: d.name ?? '' });
    return substitutes.has(key) || heldByConfigMap.has(key);
  };
  const report = (of: 'errors' | 'warnings') =>
    substitutes.size === 0 && heldByConfigMap.size === 0
      ? published[of]
      : sortDiagnostics([...published[of].filter((d) => !current(d)), ...first[of].filter(current)]);
  return {
    result: published,
    errors: report('errors'),
    warnings: report('warnings'),
    outcomes,
    lastAccepted,
    fallbacks,
  };
}
