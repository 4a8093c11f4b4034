// What one stream asked for of one resource type, and the resources of a snapshot that answer it.
// Shared by the state-of-the-world and the delta stream handlers.
import { createHash } from 'node:crypto';
import type { EncodedResource, EncodedSnapshot } from './resources.ts';
import { namedOnlyTypes, typeUrls, wildcardTypes, type TypeUrl } from './protos.ts';

export interface Subscription {
  /** Everything of the type, present and future. */
  wildcard: boolean;
  names: Set<string>;
}

/** The first request of a type: explicit "*", or (for LDS, CDS and the runtime) no names at all. Secrets only by name. */
export function subscriptionOf(type: TypeUrl, names: readonly string[]): Subscription {
  const explicit = new Set(names.filter((n) => n !== '*'));
  if (namedOnlyTypes.has(type)) return { wildcard: false, names: explicit };
  return { wildcard: names.includes('*') || (names.length === 0 && wildcardTypes.has(type)), names: explicit };
}

/** The version_info a state-of-the-world response of `type` carries: secrets change without the compiled version. */
export function typeVersion(snapshot: EncodedSnapshot, type: TypeUrl): string {
  return type === typeUrls.secret ? `${snapshot.version}/${snapshot.secretsVersion ?? ''}` : snapshot.version;
}

/** The resources of `type` the subscription covers, by name order. */
export function resourcesInScope(snapshot: EncodedSnapshot, type: TypeUrl, sub: Subscription): EncodedResource[] {
  const all = snapshot.resources.get(type) ?? new Map<string, EncodedResource>();
  const list = sub.wildcard ? [...all.values()] : [...sub.names].flatMap((n) => all.get(n) ?? []);
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Identifies a set of resources by content, so an unchanged set is not sent again. */
export function contentKey(resources: readonly EncodedResource[]): string {
  const hash = createHash('sha256');
  for (const r of resources) hash.update(`${r.name}\0${r.version}\n`);
  return hash.digest('hex');
}

export const sameNames = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((n) => b.has(n));

/** A node's identity from the first request of a stream (Envoy sends it only there). */
export interface NodeIdentity {
  id: string;
  cluster: string;
}

export function nodeIdentity(node: { id?: string; cluster?: string } | null | undefined): NodeIdentity | undefined {
  return node?.id ? { id: node.id, cluster: node.cluster ?? '' } : undefined;
}

/**
 * Types a node must also subscribe to before it can be synced: Envoy asks for routes only after it
 * has ACKed the listeners that name them, and for endpoints only after the EDS clusters, so "every
 * subscribed type ACKed" alone would call a node synced while it still lacks its routes.
 */
const dependentTypes: ReadonlyArray<[holder: TypeUrl, dependent: TypeUrl]> = [
  [typeUrls.listener, typeUrls.route],
  [typeUrls.cluster, typeUrls.endpoint],
  [typeUrls.listener, typeUrls.secret],
  [typeUrls.cluster, typeUrls.secret],
];

/** Whether the node's subscriptions cover every type its subscribed resources depend on. */
export function coversDependencies(snapshot: EncodedSnapshot, subscribed: ReadonlySet<TypeUrl>): boolean {
  return dependentTypes.every(
    ([holder, dependent]) =>
      !subscribed.has(holder) || subscribed.has(dependent) || (snapshot.resources.get(dependent)?.size ?? 0) === 0,
  );
}
