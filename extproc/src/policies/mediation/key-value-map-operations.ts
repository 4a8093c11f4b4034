// KeyValueMapOperations (docs/policies.md#keyvaluemapoperations): put, get and delete entries of a key
// value map. A map is one KeyValueMap of the step's namespace (its declared entries, from the
// snapshot) under the runtime changes Put and Delete made in the store (memory or Redis), which every
// extproc of the DataPlane shares. Store names are keyed hashes (RuntimeIndex.hashStoreKey): Redis
// never sees a map name or a key in clear, and a key is bounded before it is hashed. Values of
// encrypted maps are sealed in the store and reach only private.* variables, masked in logs.
import {
  KVM_DEFAULT_EXPIRY_SECS,
  KVM_MAX_KEY_BYTES,
  KVM_MAX_VALUE_BYTES,
  keyValueMapOperations,
  kvmAddressId,
  type KeyValueMapOperationsConfig,
  type KvmKey,
  type KvmScope,
} from '../../../../protos/policies/mediation/key-value-map-operations.ts';
import type { RefOr } from '../../../../protos/policies/schema.ts';
import { PolicyFault, withStore } from '../../flow/faults.ts';
import type { DeclaredKeyValueMap, PolicyContext, PolicyImplementation, RuntimeIndex } from '../../flow/types.ts';
import { PrivateValue } from '../../flow/variables.ts';
import type { Stores } from '../../stores/types.ts';
import { checkConfig } from '../support.ts';

/** What the store holds for a key Delete removed while the map declares it: the declared value is gone too. */
const TOMBSTONE = 'null';
/** Most Get results one process caches (ExpiryTimeInSecs); the oldest goes first. */
const CACHE_MAX_ENTRIES = 10_000;

/** The values of a key as the step sees them: null when it has none. */
type Values = readonly string[] | null;

/**
 * Get results cached per process (per Stores instance): a Put or Delete through this process clears
 * the key, as Apigee's cache does on its message processor; other processes' writes show after expiry.
 */
class ReadCache {
  readonly #entries = new Map<string, { values: Values; expiresAt: number }>();

  get(id: string, now: number): Values | undefined {
    const hit = this.#entries.get(id);
    if (hit === undefined) return undefined;
    if (hit.expiresAt <= now) {
      this.#entries.delete(id);
      return undefined;
    }
    return hit.values;
  }

  set(id: string, values: Values, expiresAt: number): void {
    this.#entries.delete(id);
    if (this.#entries.size >= CACHE_MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(id, { values, expiresAt });
  }

  clear(id: string): void {
    this.#entries.delete(id);
  }
}

const caches = new WeakMap<Stores, ReadCache>();
function cacheOf(stores: Stores): ReadCache {
  let cache = caches.get(stores);
  if (!cache) caches.set(stores, (cache = new ReadCache()));
  return cache;
}

function fault(status: number, errorCode: string, faultString: string): PolicyFault {
  return new PolicyFault({ status, errorCode, faultString });
}

/** One map as the running step addresses it: where its entries live in the store and what it declares. */
interface OpenMap {
  storeName: string;
  declared: DeclaredKeyValueMap | undefined;
  initial: ReadonlyMap<string, readonly string[]>;
  encrypted: boolean;
}

function resolveRef(ctx: PolicyContext, value: RefOr<string>): string | undefined {
  return typeof value === 'string' ? value : ctx.variables.getString(value.ref);
}

export const keyValueMapOperationsPolicy: PolicyImplementation<KeyValueMapOperationsConfig> = {
  type: 'KeyValueMapOperations',
  create(config, meta) {
    checkConfig(keyValueMapOperations, config, meta);
    const scope: KvmScope = config.scope ?? 'environment';
    const expiryMs = (config.expiryTimeInSecs ?? KVM_DEFAULT_EXPIRY_SECS) * 1000;
    const initial = new Map(
      (config.initialEntries ?? []).map((e) => [e.key.parameters.join('__'), e.value] as [string, string[]]),
    );
    const failed = `keyvaluemap.${meta.name}.failed`;

    const openMap = (ctx: PolicyContext): OpenMap => {
      const mapName = config.mapName !== undefined ? resolveRef(ctx, config.mapName) : config.mapIdentifier;
      if (!mapName)
        throw fault(
          500,
          'steps.keyvaluemapoperations.UnsupportedOperationException',
          `KeyValueMapOperations[${meta.name}]: no map name`,
        );
      const where = {
        namespace: meta.namespace,
        mapName,
        scope,
        environment: ctx.variables.getString('environment.name') ?? '',
        proxy: ctx.proxy.name,
        policy: meta.name,
      };
      const declared = ctx.runtime.keyValueMap(where);
      return {
        storeName: ctx.runtime.hashStoreKey(`kvm:${kvmAddressId(where)}`),
        declared,
        initial,
        encrypted: declared?.encrypted ?? false,
      };
    };

    /** The key's text, or undefined when a parameter ref does not resolve (the operation is skipped). */
    const keyOf = (ctx: PolicyContext, key: KvmKey): string | undefined => {
      const parts = key.parameters.map((p) => resolveRef(ctx, p));
      if (parts.some((p) => p === undefined || p === '')) return undefined;
      const text = parts.join('__');
      if (Buffer.byteLength(text) > KVM_MAX_KEY_BYTES)
        throw fault(
          400,
          'gatehouse.KeyValueMapEntryTooLarge',
          `KeyValueMapOperations[${meta.name}]: key longer than ${KVM_MAX_KEY_BYTES} bytes`,
        );
      return text;
    };

    const read = async (ctx: PolicyContext, map: OpenMap, key: string): Promise<Values> => {
      const cache = cacheOf(ctx.stores);
      const id = `${map.storeName}\u0000${key}`;
      const now = ctx.now();
      const cached = expiryMs > 0 ? cache.get(id, now) : undefined;
      if (cached !== undefined) return cached;
      const stored = await withStore(() => ctx.stores.kvm.get(map.storeName, ctx.runtime.hashStoreKey(key)));
      const values =
        stored === undefined
          ? (map.declared?.get(key) ?? map.initial.get(key) ?? null)
          : decode(ctx.runtime, map.encrypted, stored);
      if (expiryMs > 0) cache.set(id, values, now + expiryMs);
      return values;
    };

    const write = async (ctx: PolicyContext, map: OpenMap, key: string, values: Values, ttlMs?: number) => {
      const text = values === null ? TOMBSTONE : encode(ctx.runtime, map.encrypted, values);
      await withStore(() => ctx.stores.kvm.put(map.storeName, ctx.runtime.hashStoreKey(key), text, ttlMs));
      cacheOf(ctx.stores).clear(`${map.storeName}\u0000${key}`);
    };

    return async (ctx) => {
      try {
        const map = openMap(ctx);
        for (const put of config.put ?? []) {
          const key = keyOf(ctx, put.key);
          const values = put.value.map((v) => resolveRef(ctx, v));
          if (key === undefined || values.some((v) => v === undefined)) continue;
          if (Buffer.byteLength(values.join('')) > KVM_MAX_VALUE_BYTES)
            throw fault(
              400,
              'gatehouse.KeyValueMapEntryTooLarge',
              `KeyValueMapOperations[${meta.name}]: value longer than ${KVM_MAX_VALUE_BYTES} bytes`,
            );
          const ttlMs = put.expiryTimeInSecs === undefined ? undefined : put.expiryTimeInSecs * 1000;
          if (put.override) {
            await write(ctx, map, key, values as string[], ttlMs);
            continue;
          }
          // override false: a key that has a value keeps it. Without a stored value or a declared
          // one, SET NX decides atomically across every extproc sharing the store.
          const hashed = ctx.runtime.hashStoreKey(key);
          const stored = await withStore(() => ctx.stores.kvm.get(map.storeName, hashed));
          const declared = map.declared?.get(key) ?? map.initial.get(key);
          if (stored === undefined && declared === undefined) {
            const text = encode(ctx.runtime, map.encrypted, values as string[]);
            await withStore(() => ctx.stores.kvm.putIfAbsent(map.storeName, hashed, text, ttlMs));
            cacheOf(ctx.stores).clear(`${map.storeName}\u0000${key}`);
          } else if (stored === TOMBSTONE) {
            await write(ctx, map, key, values as string[], ttlMs);
          }
        }
        for (const get of config.get ?? []) {
          if (map.encrypted && !get.assignTo.startsWith('private.'))
            throw fault(
              500,
              'steps.keyvaluemapoperations.SetVariableFailed',
              `Failed to set variable ${get.assignTo} in KeyValueMapStepDefinition ${meta.name}`,
            );
          const key = keyOf(ctx, get.key);
          const values = key === undefined ? null : await read(ctx, map, key);
          const value =
            values === null ? undefined : get.index === undefined ? values.join(',') : values[get.index - 1];
          if (value === undefined) continue;
          ctx.variables.set(get.assignTo, map.encrypted ? new PrivateValue(value) : value);
        }
        for (const del of config.delete ?? []) {
          const key = keyOf(ctx, del.key);
          if (key === undefined) continue;
          // A declared value would show through a plain delete: a tombstone hides it.
          if (map.declared?.get(key) !== undefined || map.initial.has(key)) await write(ctx, map, key, null);
          else {
            await withStore(() => ctx.stores.kvm.delete(map.storeName, ctx.runtime.hashStoreKey(key)));
            cacheOf(ctx.stores).clear(`${map.storeName}\u0000${key}`);
          }
        }
        return undefined;
      } catch (err) {
        ctx.variables.set(failed, true);
        throw err;
      }
    };
  },
};

function encode(runtime: RuntimeIndex, encrypted: boolean, values: readonly string[]): string {
  const json = JSON.stringify(values);
  return encrypted ? runtime.sealStoreValue(json) : json;
}

/** A stored value as values; a tombstone, or what does not decode (another key, tampering), as none. */
function decode(runtime: RuntimeIndex, encrypted: boolean, stored: string): Values {
  if (stored === TOMBSTONE) return null;
  const json = encrypted ? runtime.openStoreValue(stored) : stored;
  if (json === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) && parsed.every((v) => typeof v === 'string') ? parsed : null;
  } catch {
    return null;
  }
}
