// Server-side apply of the rendered objects (field manager `gatehouse`, force) and pruning of the ones
// no longer rendered. Apply with force takes back every field we set from whoever changed it, so a hand
// edit of a managed field is put back by the next apply; fields we never set stay with their owners.
// An apply is skipped when the informer's copy already holds every field we would send: reconciles
// triggered by xDS sync changes then cost no write. The desired-hash annotation makes that check see a
// field we stopped sending (its removal needs an apply, which the live copy alone would not show).
import { isDeepStrictEqual } from 'node:util';
import { GatehouseError } from '../../../../lib/errors.ts';
import { canonicalJson, sha256Hex } from '../../compile/canonical-json.ts';
import { resourcePath } from '../../kube/rest.ts';
import type { KubeObject } from './render.ts';
import { desiredHashAnnotation, fieldManager, labelKeys, managedByValue } from '../../api/names.ts';
import { managedKinds, type ManagedKind } from '../../watches.ts';

export { fieldManager };

/** The calls apply and prune make (KubeRest has them). */
export interface ApplyClient {
  apply<T>(path: string, body: unknown, options: { fieldManager: string; force?: boolean }): Promise<T>;
  delete(path: string, body?: unknown): Promise<void>;
}

/** Some managed objects could not be applied or deleted; the rest were. */
export class DataPlaneApplyError extends GatehouseError {
  readonly failures: { object: string; error: string }[];

  constructor(failures: { object: string; error: string }[]) {
    super('GH_ERR_DATAPLANE_APPLY', `cannot apply ${failures.map((f) => `${f.object}: ${f.error}`).join('; ')}`);
    this.failures = failures;
  }
}

export function managedKind(kind: string): ManagedKind {
  const found = managedKinds.find((k) => k.kind === kind);
  if (!found)
    throw new GatehouseError('GH_ERR_DATAPLANE_KIND', `${kind} is not a kind the DataPlane controller manages`);
  return found;
}

/** The REST path of a managed kind's collection (all namespaces without one). */
export const collectionPath = ({ group, version, resource }: ManagedKind, namespace?: string) =>
  resourcePath({ group, version, resource, namespace });
export function objectPath(o: KubeObject): string {
  const { group, version, resource } = managedKind(o.kind);
  return resourcePath({ group, version, resource, namespace: o.metadata.namespace, name: o.metadata.name });
}
export const objectKey = (o: KubeObject) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;

/** The object with the hash of its own content in an annotation. */
export function withDesiredHash(o: KubeObject): KubeObject {
  const hash = sha256Hex(canonicalJson(o));
  return {
    ...o,
    metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [desiredHashAnnotation]: hash } },
  };
}

/**
 * Whether `live` already has every field of `desired` with the same value. Lists must match item by
 * item (same length): an extra item may be ours to remove, so it asks for an apply, which is always
 * safe. Values the apiserver normalises (quantities like "0.5") read as different: an apply too.
 */
export function containsDesired(desired: unknown, live: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) && live.length === desired.length && desired.every((d, i) => containsDesired(d, live[i]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const l = live as Record<string, unknown>;
    return Object.entries(desired).every(([k, v]) => v === undefined || containsDesired(v, l[k]));
  }
  return isDeepStrictEqual(desired, live);
}

export interface ApplyOutcome {
  /** Objects the apiserver created or changed. */
  changed: string[];
  /** Objects whose live copy already matched (no request made). */
  unchanged: string[];
}

/**
 * Applies each object, in order, whose live copy (from the informers; undefined when unknown) lacks
 * any of its fields. Carries on past a failure and throws DataPlaneApplyError naming every one.
 */
export async function applyObjects(
  client: ApplyClient,
  desired: readonly KubeObject[],
  live: (o: KubeObject) => KubeObject | undefined,
): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { changed: [], unchanged: [] };
  const failures: { object: string; error: string }[] = [];
  for (const plain of desired) {
    const o = withDesiredHash(plain);
    const current = live(o);
    if (current && !current.metadata.deletionTimestamp && containsDesired(o, current)) {
      outcome.unchanged.push(objectKey(o));
      continue;
    }
    try {
      const applied = await client.apply<KubeObject>(objectPath(o), o, { fieldManager, force: true });
      if (applied?.metadata?.resourceVersion !== current?.metadata.resourceVersion) outcome.changed.push(objectKey(o));
      else outcome.unchanged.push(objectKey(o));
    } catch (err) {
      failures.push({ object: objectKey(o), error: (err as Error).message });
    }
  }
  if (failures.length > 0) throw new DataPlaneApplyError(failures);
  return outcome;
}

/**
 * Live objects of the DataPlane (by label AND by controller owner reference to its uid) that are not
 * in `desired`: what we rendered before and no longer do. Anything else is left alone.
 */
export function objectsToPrune(
  owner: { name: string; uid: string },
  desired: readonly KubeObject[],
  live: readonly KubeObject[],
): KubeObject[] {
  const wanted = new Set(desired.map(objectKey));
  return live
    .filter(
      (o) =>
        o.metadata.labels?.[labelKeys.managedBy] === managedByValue &&
        o.metadata.labels?.[labelKeys.dataPlane] === owner.name &&
        (o.metadata.ownerReferences ?? []).some(
          (r) => r.controller === true && r.uid === owner.uid && r.kind === 'DataPlane',
        ) &&
        !o.metadata.deletionTimestamp &&
        !wanted.has(objectKey(o)),
    )
    .sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
}

/** Deletes the objects; one already gone, or replaced by another of the same name (uid differs), is fine. */
export async function pruneObjects(client: ApplyClient, objects: readonly KubeObject[]): Promise<string[]> {
  const deleted: string[] = [];
  const failures: { object: string; error: string }[] = [];
  for (const o of objects) {
    try {
      await client.delete(objectPath(o), {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Background',
        ...(o.metadata.uid ? { preconditions: { uid: o.metadata.uid } } : {}),
      });
      deleted.push(objectKey(o));
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404 || status === 409) continue;
      failures.push({ object: objectKey(o), error: (err as Error).message });
    }
  }
  if (failures.length > 0) throw new DataPlaneApplyError(failures);
  return deleted;
}
