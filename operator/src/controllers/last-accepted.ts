// "The last accepted revision of an object that turned invalid keeps serving" (DESIGN 3). Compile the
// objects as they are; where an object that served before is now rejected for a change of its own
// (a new generation), compile again with its last accepted revision in its place. Pure: the memory of
// accepted revisions goes in and comes out.
import { compile, type CompileOptions, type CompileResult, type SourceObject } from '../compile/compile.ts';
import { idKey, type ObjectId } from '../compile/intake.ts';
import type { StatusCondition } from '../compile/status.ts';

export interface AcceptedRevision {
  object: unknown;
  generation: number;
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
  /** Keyed `Kind/namespace/name`, every object of our kinds. */
  outcomes: Map<string, ObjectOutcome>;
  /** The memory to pass to the next call. */
  lastAccepted: Map<string, AcceptedRevision>;
  /** Objects served at an older generation, keyed like outcomes. */
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

export function compileKeepingLastAccepted(
  objects: readonly SourceObject[],
  previous: ReadonlyMap<string, AcceptedRevision>,
  options: CompileOptions,
): FallbackCompile {
  const first = compile(objects, options);
  const substitutes = new Map<string, AcceptedRevision>();
  for (const s of first.accepted) {
    if (s.accepted) continue;
    const key = idKey(s);
    const before = previous.get(key);
    if (before && before.generation !== s.generation) substitutes.set(key, before);
  }
  let published = first;
  if (substitutes.size > 0) {
    const replaced = objects.map((o) => {
      const key = keyOf(o.object);
      const sub = key === undefined ? undefined : substitutes.get(key);
      return sub ? { object: sub.object, origin: o.origin } : o;
    });
    published = compile(replaced, options);
  }

  const currentByKey = new Map(first.accepted.map((s) => [idKey(s), s]));
  const outcomes = new Map<string, ObjectOutcome>();
  const lastAccepted = new Map<string, AcceptedRevision>();
  const fallbacks = new Map<string, number>();
  const objectByKey = new Map<string, unknown>();
  for (const o of objects) {
    const key = keyOf(o.object);
    if (key !== undefined) objectByKey.set(key, o.object);
  }
  for (const s of published.accepted) {
    const key = idKey(s);
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
    if (s.accepted && objectByKey.has(key))
      lastAccepted.set(key, { object: objectByKey.get(key), generation: s.generation });
    else if (!s.accepted && previous.has(key) && previous.get(key)!.generation === s.generation) {
      // Rejected for a reason outside itself (a reference went away): nothing older would do better,
      // but remember it in case the reference comes back.
      lastAccepted.set(key, previous.get(key)!);
    }
  }
  return { result: published, outcomes, lastAccepted, fallbacks };
}
