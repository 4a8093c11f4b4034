// Resource encoding: a compiled snapshot (proto3 JSON) becomes the Any-packed, per-type resource sets
// the streams serve. Every resource goes through the strict encoder (unknown fields, bad types and
// unresolvable Anys are errors, never silently dropped). Unchanged resources are not re-encoded: a
// change to one manifest of 1,000 proxies re-encodes a handful of resources, not all of them.
import { createHash } from 'node:crypto';
import type protobuf from 'protobufjs';
import type { RuntimeSnapshot } from '../../../protos/gen/json/gatehouse.v1.ts';
import type { Snapshot } from '../compile/compile.ts';
import type { EnvoyResources } from '../compile/envoy/index.ts';
import { encodeStrict, envoyCollectionTypes, envoyRoot } from './envoy-codec.ts';
import { runtimeResourceName, runtimeRoot, runtimeTypeName, typeUrls, type TypeUrl } from './protos.ts';

export interface EncodedResource {
  name: string;
  /** Content hash of the bytes: the resource version of the delta protocol. */
  version: string;
  any: { type_url: string; value: Buffer };
}

export interface EncodedSnapshot {
  /** The compiled snapshot's version: what nodes report as synced. */
  version: string;
  /** Identifies the SDS secrets served beside it (they change without the compiled version changing). */
  secretsVersion?: string;
  resources: ReadonlyMap<TypeUrl, ReadonlyMap<string, EncodedResource>>;
}

/** Each collection with its type URL and its resources by the name they are served under. */
function collections(envoy: EnvoyResources): Array<[keyof EnvoyResources, TypeUrl, Array<[string, object]>]> {
  return [
    ['clusters', typeUrls.cluster, envoy.clusters.map((r) => [r.name ?? '', r])],
    // A ClusterLoadAssignment is named by its cluster.
    ['endpoints', typeUrls.endpoint, envoy.endpoints.map((r) => [r.cluster_name ?? '', r])],
    ['listeners', typeUrls.listener, envoy.listeners.map((r) => [r.name ?? '', r])],
    ['routes', typeUrls.route, envoy.routes.map((r) => [r.name ?? '', r])],
  ];
}

/**
 * The bytes in memory of their own. What the encoder returns (and Buffer.from of it) is a slice of a
 * shared slab; a slice kept across rebuilds (the memo below) keeps its whole slab alive: 11,000
 * runtime pieces of 3.6 MB held 44 MB of slabs at 1,000 proxies and 10,000 apps
 * (docs/architecture.md, The operator at scale).
 */
function ownBytes(bytes: Uint8Array): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length);
  own.set(bytes);
  return own;
}

const contentHash = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/**
 * Encoding results memoised by the SHA-256 of their JSON text; each encode keeps only what it used, so
 * the memo never grows. Keyed by the digest, not the text: the texts were 50 MB at 1,000 proxies and
 * 10,000 apps, kept from one rebuild to the next and promoted to the old generation every time
 * (docs/architecture.md, The operator at scale). SHA-256, so no tenant can make two texts collide.
 */
class EncodeMemo<T> {
  private previous = new Map<string, T>();
  private next = new Map<string, T>();

  get(text: string, encode: () => T): T {
    const key = createHash('sha256').update(text).digest('base64');
    const value = this.previous.get(key) ?? this.next.get(key) ?? encode();
    this.next.set(key, value);
    return value;
  }

  rotate(): void {
    this.previous = this.next;
    this.next = new Map();
  }
}

export class SnapshotEncoder {
  /** Whole Envoy resources, content hash included: an unchanged resource is neither encoded nor hashed again. */
  private readonly resources = new EncodeMemo<EncodedResource>();
  private readonly runtimePieces = new EncodeMemo<Buffer>();

  /**
   * Every DataPlane's view, by "namespace/name": its part of the Envoy resources (each encoded once
   * however many views hold it) and its own runtime. Throws EnvoyProtoError (GH_ERR_ENVOY_PROTO)
   * naming every problem when a resource does not encode.
   */
  encode(snapshot: Snapshot): Map<string, EncodedSnapshot> {
    const views = new Map<string, EncodedSnapshot>();
    try {
      const fleet = new Map<TypeUrl, Map<string, EncodedResource>>();
      for (const [collection, typeUrl, named] of collections(snapshot.envoy)) {
        const typeName = envoyCollectionTypes[collection];
        const byName = new Map<string, EncodedResource>();
        for (const [name, body] of named) {
          byName.set(
            name,
            this.resources.get(`${typeName}\n${JSON.stringify(body)}`, () => {
              const value = ownBytes(encodeStrict(envoyRoot(), typeName, body));
              return { name, version: contentHash(value), any: { type_url: typeUrl, value } };
            }),
          );
        }
        fleet.set(typeUrl, byName);
      }
      for (const view of snapshot.dataPlanes) {
        const resources = new Map<TypeUrl, Map<string, EncodedResource>>();
        for (const [collection, typeUrl] of collections(snapshot.envoy)) {
          const all = fleet.get(typeUrl)!;
          resources.set(
            typeUrl,
            new Map(view.names[collection].flatMap((n) => (all.has(n) ? [[n, all.get(n)!]] : []))),
          );
        }
        const runtime = this.encodeRuntime({ version: snapshot.version, ...view.runtime });
        resources.set(
          typeUrls.runtime,
          new Map([
            [
              runtimeResourceName,
              {
                name: runtimeResourceName,
                version: contentHash(runtime),
                any: { type_url: typeUrls.runtime, value: runtime },
              },
            ],
          ]),
        );
        views.set(view.dataPlane, { version: snapshot.version, resources });
      }
    } finally {
      this.resources.rotate();
      this.runtimePieces.rotate();
    }
    return views;
  }

  /**
   * The RuntimeSnapshot, encoded one top-level field (and one repeated element) at a time and
   * concatenated in field-number order: exactly the bytes of encoding it whole (protobuf's wire format
   * is a sequence of fields), but a change to one proxy re-encodes that proxy only.
   */
  private encodeRuntime(runtime: RuntimeSnapshot): Buffer {
    const json: Readonly<Record<string, unknown>> = { ...runtime };
    const root = runtimeRoot();
    const type = root.lookupType(runtimeTypeName);
    const fields = [...type.fieldsArray].sort((a, b) => a.id - b.id);
    const keyOf = (f: protobuf.Field) => [f.name, camel(f.name)].find((k) => k in json);
    const known = new Set(fields.map(keyOf));
    // An unknown member: let the strict encoder name it.
    if (Object.keys(json).some((k) => !known.has(k))) return Buffer.from(encodeStrict(root, runtimeTypeName, json));
    const parts: Buffer[] = [];
    for (const field of fields) {
      const key = keyOf(field);
      if (key === undefined || json[key] === undefined) continue;
      const value = json[key];
      const elements: unknown[] =
        field.repeated && Array.isArray(value) ? (value as unknown[]).map((v) => [v]) : [value];
      for (const element of elements) {
        const piece = { [key]: element };
        parts.push(
          this.runtimePieces.get(`${runtimeTypeName}\n${JSON.stringify(piece)}`, () =>
            ownBytes(encodeStrict(root, runtimeTypeName, piece)),
          ),
        );
      }
    }
    return Buffer.concat(parts);
  }
}

const camel = (name: string) => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
