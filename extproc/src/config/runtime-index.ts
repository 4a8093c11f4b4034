// The snapshot's consumer data indexed once per load (RuntimeIndex of flow/types.ts): credentials by
// key hash, products, apps and developers by namespace/name (and developers and their apps by email),
// and the keyed hash that names store entries. Policies look
// things up here on every request.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { App__Output } from '../../../protos/gen/gatehouse/v1/App.ts';
import type { Credential__Output } from '../../../protos/gen/gatehouse/v1/Credential.ts';
import type { Developer__Output } from '../../../protos/gen/gatehouse/v1/Developer.ts';
import type { Product__Output } from '../../../protos/gen/gatehouse/v1/Product.ts';
import type { RuntimeSnapshot__Output } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { kvmAddressId } from '../../../protos/policies/mediation/key-value-map-operations.ts';
import { policySecretId, type SecretRef } from '../../../protos/policies/schema.ts';
import type { KeyValueMap__Output } from '../../../protos/gen/gatehouse/v1/KeyValueMap.ts';
import type { DeclaredKeyValueMap, EgressRules, KeyValueMapLookup, RuntimeIndex } from '../flow/types.ts';

/**
 * HKDF-SHA256 `info` of the key that names store entries (Redis keys). It is derived from the
 * credential hash key rather than being that key, so one key never serves two purposes: a store key
 * name is never a credential lookup hash, whatever value was hashed.
 */
export const STORE_KEY_LABEL = 'gatehouse.dev/v1 store key names';

/** The store-key HMAC key for a credential hash key (hex, as the snapshot carries it). */
export function storeKeyFor(credentialHashKeyHex: string): KeyObject {
  const derived = hkdfSync('sha256', Buffer.from(credentialHashKeyHex, 'hex'), Buffer.alloc(0), STORE_KEY_LABEL, 32);
  return createSecretKey(Buffer.from(derived));
}

/** HKDF-SHA256 `info` of the key that seals encrypted KeyValueMap values in the store. */
export const STORE_SEAL_LABEL = 'gatehouse.dev/v1 store sealed values';

function sealKeyFor(credentialHashKeyHex: string): KeyObject {
  const derived = hkdfSync('sha256', Buffer.from(credentialHashKeyHex, 'hex'), Buffer.alloc(0), STORE_SEAL_LABEL, 32);
  return createSecretKey(Buffer.from(derived));
}

/** How many API keys findApiKey remembers per snapshot, and the longest it remembers. */
export const MAX_KNOWN_KEYS = 10_000;
const MAX_KNOWN_KEY_LENGTH = 256;

export class SnapshotRuntimeIndex implements RuntimeIndex {
  readonly version: string;
  /**
   * A KeyObject, not a Buffer: createHmac prepares a Buffer key anew on every call, about 8x the cost
   * of the HMAC itself on a short API key (docs/architecture.md#the-hot-path).
   */
  private readonly hashKey: KeyObject;
  private readonly storeKey: KeyObject;
  private readonly sealKey: KeyObject;
  private readonly credentials = new Map<string, { app: App__Output; credential: Credential__Output }>();
  private readonly products = new Map<string, Product__Output>();
  private readonly apps = new Map<string, App__Output>();
  private readonly appsByEmail = new Map<string, App__Output[]>();
  private readonly developers = new Map<string, Developer__Output>();
  private readonly developersByEmail = new Map<string, Developer__Output>();
  private readonly scopes = new WeakMap<App__Output, readonly string[]>();
  /**
   * API keys that matched a credential, to what they matched (oldest dropped first past
   * MAX_KNOWN_KEYS): the HMAC was about 5% of the typical chain's CPU. The snapshot is immutable and
   * this map lives and dies with it, so a revoked or rotated key is refused as soon as the snapshot
   * without it loads; status and expiry are still checked per request by the policy. The price: up to
   * MAX_KNOWN_KEYS presented keys of real apps stay in extproc's heap while the snapshot serves
   * (docs/architecture.md#the-hot-path).
   */
  private readonly knownKeys = new Map<string, { app: App__Output; credential: Credential__Output }>();
  private readonly secrets: Readonly<Record<string, string>>;
  private readonly keyValueMaps = new Map<string, DeclaredKeyValueMap>();
  readonly egressRules: EgressRules;

  constructor(snapshot: RuntimeSnapshot__Output) {
    this.version = snapshot.version;
    this.hashKey = createSecretKey(Buffer.from(snapshot.credentialHashKey, 'hex'));
    this.storeKey = storeKeyFor(snapshot.credentialHashKey);
    this.sealKey = sealKeyFor(snapshot.credentialHashKey);
    for (const app of snapshot.apps) {
      for (const credential of app.credentials)
        this.credentials.set(credential.keyHash.toLowerCase(), { app, credential });
    }
    for (const product of snapshot.products) this.products.set(`${product.namespace}/${product.name}`, product);
    for (const developer of snapshot.developers) {
      this.developers.set(`${developer.namespace}/${developer.name}`, developer);
      this.developersByEmail.set(emailKey(developer.namespace, developer.email), developer);
    }
    for (const app of snapshot.apps) {
      this.apps.set(`${app.namespace}/${app.name}`, app);
      if (app.developerEmail === '') continue;
      const key = emailKey(app.namespace, app.developerEmail);
      this.appsByEmail.set(key, [...(this.appsByEmail.get(key) ?? []), app]);
    }
    this.secrets = snapshot.policySecrets;
    // Each DataPlane's view holds only its own DataPlane (config/snapshot.ts).
    const dataPlane = snapshot.dataPlanes[0];
    this.egressRules = {
      allowLinkLocal: dataPlane?.allowLinkLocalTargets ?? false,
      privateNetworks: dataPlane?.calloutPrivateNetworks ?? [],
    };
    for (const map of snapshot.keyValueMaps ?? []) this.keyValueMaps.set(kvmAddressId(map), this.declared(map));
  }

  keyValueMap(where: KeyValueMapLookup): DeclaredKeyValueMap | undefined {
    return this.keyValueMaps.get(kvmAddressId(where));
  }

  /** Values from Secrets are looked up in policy_secrets once, here. */
  private declared(map: KeyValueMap__Output): DeclaredKeyValueMap {
    const entries = new Map<string, readonly string[]>();
    for (const [key, { values }] of Object.entries(map.entries)) entries.set(key, values);
    for (const [key, id] of Object.entries(map.secretEntries)) {
      if (Object.hasOwn(this.secrets, id)) entries.set(key, [this.secrets[id]!]);
    }
    return { encrypted: map.encrypted, get: (key) => entries.get(key) };
  }

  policySecret(namespace: string, ref: SecretRef['secretRef']): string | undefined {
    const id = policySecretId(namespace, ref);
    return Object.hasOwn(this.secrets, id) ? this.secrets[id] : undefined;
  }

  hashCredential(value: string): string {
    return createHmac('sha256', this.hashKey).update(value, 'utf8').digest('hex');
  }

  hashStoreKey(value: string): string {
    return createHmac('sha256', this.storeKey).update(value, 'utf8').digest('base64url');
  }

  sealStoreValue(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `gcm1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  openStoreValue(sealed: string): string | undefined {
    if (!sealed.startsWith('gcm1.')) return undefined;
    const raw = Buffer.from(sealed.slice(5), 'base64url');
    if (raw.length < 28) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealKey, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  findCredential(keyHash: string): { app: App__Output; credential: Credential__Output } | undefined {
    return this.credentials.get(keyHash.toLowerCase());
  }

  findApiKey(key: string): { app: App__Output; credential: Credential__Output } | undefined {
    const known = this.knownKeys.get(key);
    if (known) return known;
    const found = this.credentials.get(this.hashCredential(key));
    // Only keys that name a credential are kept: a client sending random keys pays the HMAC each time
    // and cannot push the keys of real apps out, and a wrong key is never remembered.
    if (found && key.length <= MAX_KNOWN_KEY_LENGTH) {
      if (this.knownKeys.size >= MAX_KNOWN_KEYS) this.knownKeys.delete(this.knownKeys.keys().next().value!);
      this.knownKeys.set(key, found);
    }
    return found;
  }

  product(namespace: string, name: string): Product__Output | undefined {
    return this.products.get(`${namespace}/${name}`);
  }

  app(namespace: string, name: string): App__Output | undefined {
    return this.apps.get(`${namespace}/${name}`);
  }

  appsOfDeveloper(namespace: string, email: string): readonly App__Output[] {
    return this.appsByEmail.get(emailKey(namespace, email)) ?? [];
  }

  developer(namespace: string, name: string): Developer__Output | undefined {
    return this.developers.get(`${namespace}/${name}`);
  }

  developerByEmail(namespace: string, email: string): Developer__Output | undefined {
    return this.developersByEmail.get(emailKey(namespace, email));
  }

  developerActive(app: App__Output): boolean {
    if (app.developerRef === '') return true;
    return this.developer(app.namespace, app.developerRef)?.status === 'active';
  }

  credentialScopes(app: App__Output): readonly string[] {
    let scopes = this.scopes.get(app);
    if (!scopes) {
      const all = new Set<string>();
      for (const entry of app.products) {
        if (entry.status !== 'Approved') continue;
        for (const scope of this.product(app.namespace, entry.name)?.scopes ?? []) all.add(scope);
      }
      scopes = [...all].sort();
      this.scopes.set(app, scopes);
    }
    return scopes;
  }
}

/** Emails are matched case-insensitively, as Apigee does. */
const emailKey = (namespace: string, email: string) => `${namespace}/${email.toLowerCase()}`;
