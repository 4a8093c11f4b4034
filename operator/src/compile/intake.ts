// First compile stage: sorts arbitrary source objects into an inventory of well-formed, schema-valid
// objects by kind. Anything malformed becomes a diagnostic and is remembered as rejected, so that a
// reference to it reads "not accepted" rather than "not found".
import { apiVersion as gatehouseApiVersion, group } from '../api/common.ts';
import {
  kindsByName,
  type ApiPolicy,
  type ApiProduct,
  type ApiProxy,
  type DataPlane,
  type DebugSession,
  type Developer,
  type DeveloperApp,
  type GatehouseObject,
  type KeyValueMap,
  type SharedFlow,
} from '../api/kinds.ts';
import { validateSpec } from '../api/validate.ts';
import { resourceConfigMapLabel } from '../../../protos/policies/schema.ts';
import type { Diagnostic } from './diagnostics.ts';

export interface Origin {
  file?: string;
  line?: number;
}

/** One object as a source delivers it: parsed YAML or a kube object, not yet trusted in any way. */
export interface SourceObject {
  object: unknown;
  origin?: Origin;
}

export interface ObjectId {
  kind: string;
  namespace: string;
  name: string;
}

export interface Entry<T> {
  id: ObjectId;
  origin: Origin;
  object: T;
  /**
   * Its status (kube mode) says its current generation is Accepted: in a cluster, what holds a route or
   * a consumer key now, the same for every replica and across restarts (docs/tenancy.md).
   */
  statusAccepted?: boolean;
}

/** A DebugSession as compile reads it: its spec, and what the cluster says of it (uid, status). */
export interface DebugSessionEntry extends Entry<DebugSession> {
  /** metadata.uid: the id captures are reported under (absent in folder mode). */
  uid?: string;
  /** status.phase and status.captured as the operator last wrote them. */
  phase?: string;
  captured: number;
}

export interface SecretObject {
  /** Decoded values: data (base64) overlaid with stringData, as the apiserver does. */
  values: Record<string, string>;
}

/** A ConfigMap labelled gatehouse.dev/resource=true: texts policies name by configMapRef. */
export interface ConfigMapObject {
  values: Record<string, string>;
}

export interface Inventory {
  proxies: Map<string, Entry<ApiProxy>>;
  policies: Map<string, Entry<ApiPolicy>>;
  products: Map<string, Entry<ApiProduct>>;
  developers: Map<string, Entry<Developer>>;
  apps: Map<string, Entry<DeveloperApp>>;
  dataPlanes: Map<string, Entry<DataPlane>>;
  keyValueMaps: Map<string, Entry<KeyValueMap>>;
  sharedFlows: Map<string, Entry<SharedFlow>>;
  /** Accepted DebugSessions (resolve-debug-sessions.ts decides which are active). */
  debugSessions: Map<string, DebugSessionEntry>;
  /**
   * Every DebugSession seen, accepted or not (kept out of `seen`: a session has its own status, written
   * by the debug session controller, and no last accepted revision).
   */
  debugSessionsSeen: Map<string, { id: ObjectId; generation: number }>;
  secrets: Map<string, Entry<SecretObject>>;
  /** Only those labelled gatehouse.dev/resource=true, in both modes (a cluster's operator lists no others). */
  configMaps: Map<string, Entry<ConfigMapObject>>;
  /** `Kind/namespace/name` of every object of our kinds that was rejected. */
  rejected: Set<string>;
  /** Every object of our kinds seen, accepted or not, keyed `Kind/namespace/name` (for status). */
  seen: Map<string, { id: ObjectId; generation: number }>;
}

export const objectKey = (namespace: string, name: string) => `${namespace}/${name}`;
export const idKey = (id: ObjectId) => `${id.kind}/${id.namespace}/${id.name}`;

const namePattern = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Candidate {
  id: ObjectId;
  origin: Origin;
  raw: Record<string, unknown>;
  /** Given without an origin (a cluster's objects): its entry can be remembered by the object alone. */
  bare: boolean;
}

function identify(source: SourceObject, report: (d: Diagnostic) => void): Candidate | undefined {
  const origin = source.origin ?? {};
  const at = { file: origin.file, line: origin.line };
  const raw = source.object;
  if (!isRecord(raw) || typeof raw.kind !== 'string' || typeof raw.apiVersion !== 'string') {
    report({
      severity: 'error',
      code: 'GH_ERR_COMPILE_NOT_AN_OBJECT',
      ...at,
      message: 'not a Kubernetes object: apiVersion and kind are required',
    });
    return undefined;
  }
  const ours = raw.apiVersion.split('/')[0] === group;
  const isSecret = raw.apiVersion === 'v1' && raw.kind === 'Secret';
  const isResource = raw.apiVersion === 'v1' && raw.kind === 'ConfigMap' && labelled(raw, resourceConfigMapLabel);
  if (!ours && !isSecret && !isResource) return undefined; // other kinds are normal in a GitOps folder
  const meta = isRecord(raw.metadata) ? raw.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const id = { kind: raw.kind, namespace, name };
  const fail = (field: string, message: string) => {
    report({
      severity: 'error',
      code: 'GH_ERR_COMPILE_INVALID',
      ...at,
      ...id,
      field,
      message,
      condition: 'Accepted',
      reason: 'Invalid',
    });
    return undefined;
  };
  if (!namePattern.test(name) || name.length > 253) return fail('metadata.name', 'must be a lowercase RFC 1123 name');
  if (!namePattern.test(namespace) || namespace.length > 63)
    return fail('metadata.namespace', 'must be a lowercase RFC 1123 label');
  if (ours && !kindsByName.has(raw.kind))
    return fail('kind', `unknown kind in ${group}; kinds: ${[...kindsByName.keys()].join(', ')}`);
  if (ours && raw.apiVersion !== gatehouseApiVersion) return fail('apiVersion', `must be ${gatehouseApiVersion}`);
  return { id, origin, raw, bare: source.origin === undefined };
}

function labelled(raw: Record<string, unknown>, label: string): boolean {
  const labels = isRecord(raw.metadata) && isRecord(raw.metadata.labels) ? raw.metadata.labels : {};
  return labels[label] === 'true';
}

function decodeConfigMap(c: Candidate, report: (d: Diagnostic) => void): ConfigMapObject | undefined {
  const data = c.raw.data;
  const values: Record<string, string> = {};
  if (data === undefined || data === null) return { values };
  const fail = (field: string, message: string) => {
    report({ severity: 'error', code: 'GH_ERR_COMPILE_INVALID', ...c.origin, ...c.id, field, message });
    return undefined;
  };
  if (!isRecord(data)) return fail('data', 'must be a map of strings');
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') return fail(`data.${k}`, 'must be a string');
    values[k] = v;
  }
  return { values };
}

/**
 * Decoded Secrets by the object they come from (not modified once read, as validate.ts's memo
 * assumes): 10,000 credential Secrets are otherwise decoded again on every recompile. Only what
 * decoded is kept; a Secret that fails reports again each time.
 */
const decodedSecrets = new WeakMap<object, SecretObject>();

function decodeSecret(c: Candidate, report: (d: Diagnostic) => void): SecretObject | undefined {
  const known = decodedSecrets.get(c.raw);
  if (known) return known;
  const secret = decodeSecretNow(c, report);
  if (secret) decodedSecrets.set(c.raw, secret);
  return secret;
}

function decodeSecretNow(c: Candidate, report: (d: Diagnostic) => void): SecretObject | undefined {
  const values: Record<string, string> = {};
  const fail = (field: string, message: string) => {
    report({ severity: 'error', code: 'GH_ERR_COMPILE_INVALID', ...c.origin, ...c.id, field, message });
    return undefined;
  };
  for (const member of ['data', 'stringData'] as const) {
    const map = c.raw[member];
    if (map === undefined || map === null) continue;
    if (!isRecord(map)) return fail(member, 'must be a map of strings');
    for (const [k, v] of Object.entries(map)) {
      if (typeof v !== 'string') return fail(`${member}.${k}`, 'must be a string');
      if (member === 'data' && !base64Pattern.test(v.replace(/\s/g, '')))
        return fail(`${member}.${k}`, 'must be base64');
      values[k] = member === 'data' ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
  }
  return { values };
}

/** A copy of a free-form string map with sorted keys, so emitted JSON does not depend on source order. */
export function sortedRecord(map: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function generationOf(raw: Record<string, unknown>): number {
  const generation = isRecord(raw.metadata) ? raw.metadata.generation : undefined;
  return typeof generation === 'number' && Number.isSafeInteger(generation) && generation >= 0 ? generation : 0;
}

/** An apiserver timestamp, kept only when it parses (docs/tenancy.md: the older claim wins). */
function creationTimestampOf(raw: Record<string, unknown>): { creationTimestamp?: string } {
  const t = isRecord(raw.metadata) ? raw.metadata.creationTimestamp : undefined;
  return typeof t === 'string' && !Number.isNaN(Date.parse(t)) ? { creationTimestamp: t } : {};
}

function statusAcceptedOf(raw: Record<string, unknown>): { statusAccepted?: true } {
  const status = isRecord(raw.status) ? raw.status : undefined;
  const generation = isRecord(raw.metadata) ? raw.metadata.generation : undefined;
  if (!status || generation === undefined) return {};
  const conditions: unknown[] = Array.isArray(status.conditions) ? status.conditions : [];
  const accepted = conditions.some(
    (c) =>
      isRecord(c) &&
      c.type === 'Accepted' &&
      c.status === 'True' &&
      (c.observedGeneration ?? status.observedGeneration) === generation,
  );
  return accepted ? { statusAccepted: true } : {};
}

/** A DebugSession's uid and the status its controller wrote (phase, captured), when well-formed. */
function debugStateOf(raw: Record<string, unknown>): { uid?: string; phase?: string; captured: number } {
  const uid = isRecord(raw.metadata) ? raw.metadata.uid : undefined;
  const status = isRecord(raw.status) ? raw.status : {};
  const captured = status.captured;
  return {
    ...(typeof uid === 'string' && uid !== '' ? { uid } : {}),
    ...(typeof status.phase === 'string' ? { phase: status.phase } : {}),
    captured: typeof captured === 'number' && Number.isSafeInteger(captured) && captured > 0 ? captured : 0,
  };
}

function emptyInventory(): Inventory {
  return {
    proxies: new Map(),
    policies: new Map(),
    products: new Map(),
    developers: new Map(),
    apps: new Map(),
    dataPlanes: new Map(),
    keyValueMaps: new Map(),
    sharedFlows: new Map(),
    debugSessions: new Map(),
    debugSessionsSeen: new Map(),
    secrets: new Map(),
    configMaps: new Map(),
    rejected: new Set(),
    seen: new Map(),
  };
}

/**
 * The entries of schema-valid objects of our kinds given without an origin, by the object: a function
 * of the object alone, which is not modified once read (validate.ts), so the operator builds one only
 * for an object that changed. Rejected objects are checked (and reported) again on every compile.
 */
const entries = new WeakMap<object, Entry<GatehouseObject>>();

/** The entry of one object of our kinds, or undefined (reported) when its spec is invalid. */
function entryOf(c: Candidate, report: (d: Diagnostic) => void): Entry<GatehouseObject> | undefined {
  const kind = kindsByName.get(c.id.kind)!;
  const { errors, spec } = validateSpec(kind, c.raw.spec);
  for (const e of errors) {
    report({
      severity: 'error',
      code: 'GH_ERR_COMPILE_INVALID',
      ...c.origin,
      ...c.id,
      field: e.field,
      message: e.message,
      condition: 'Accepted',
      reason: 'Invalid',
    });
  }
  if (errors.length > 0) return undefined;
  const object = {
    apiVersion: gatehouseApiVersion,
    kind: c.id.kind,
    spec,
    metadata: {
      name: c.id.name,
      namespace: c.id.namespace,
      generation: generationOf(c.raw),
      ...creationTimestampOf(c.raw),
    },
  } as GatehouseObject;
  return { id: c.id, origin: c.origin, object, ...statusAcceptedOf(c.raw) };
}

export function takeIn(sources: readonly SourceObject[], report: (d: Diagnostic) => void): Inventory {
  const inventory = emptyInventory();
  const byId = new Map<string, Candidate[]>();
  const reject = (d: Diagnostic) => {
    report(d);
    if (d.kind && kindsByName.has(d.kind))
      inventory.rejected.add(idKey({ kind: d.kind, namespace: d.namespace ?? '', name: d.name ?? '' }));
  };
  for (const source of sources) {
    const c = identify(source, reject);
    if (!c) continue;
    const key = idKey(c.id);
    if (c.id.kind !== 'Secret' && c.id.kind !== 'ConfigMap') {
      // Copies of one object (an error anyway) report the highest generation, whatever their order.
      const seen = c.id.kind === 'DebugSession' ? inventory.debugSessionsSeen : inventory.seen;
      const generation = Math.max(generationOf(c.raw), seen.get(key)?.generation ?? 0);
      seen.set(key, { id: c.id, generation });
    }
    const copies = byId.get(key);
    if (copies) copies.push(c);
    else byId.set(key, [c]);
  }
  for (const [key, copies] of byId) {
    if (copies.length > 1) {
      // Neither copy wins: which one would depend on document order.
      for (const c of copies) {
        report({
          severity: 'error',
          code: 'GH_ERR_COMPILE_DUPLICATE',
          ...c.origin,
          ...c.id,
          field: 'metadata.name',
          message: `${key} is defined ${copies.length} times`,
          condition: 'Accepted',
          reason: 'Duplicate',
        });
      }
      inventory.rejected.add(key);
      continue;
    }
    const c = copies[0]!; // a list in byId starts with one copy, and longer lists were handled above
    const mapKey = objectKey(c.id.namespace, c.id.name);
    if (c.id.kind === 'Secret') {
      const secret = decodeSecret(c, report);
      if (secret) inventory.secrets.set(mapKey, { id: c.id, origin: c.origin, object: secret });
      continue;
    }
    if (c.id.kind === 'ConfigMap') {
      const configMap = decodeConfigMap(c, report);
      if (configMap) inventory.configMaps.set(mapKey, { id: c.id, origin: c.origin, object: configMap });
      continue;
    }
    const entry = (c.bare ? entries.get(c.raw) : undefined) ?? entryOf(c, report);
    if (!entry) {
      inventory.rejected.add(key);
      continue;
    }
    if (c.bare) entries.set(c.raw, entry);
    const object = entry.object;
    switch (object.kind) {
      case 'ApiProxy':
        inventory.proxies.set(mapKey, entry as Entry<ApiProxy>);
        break;
      case 'ApiPolicy':
        inventory.policies.set(mapKey, entry as Entry<ApiPolicy>);
        break;
      case 'ApiProduct':
        inventory.products.set(mapKey, entry as Entry<ApiProduct>);
        break;
      case 'Developer':
        inventory.developers.set(mapKey, entry as Entry<Developer>);
        break;
      case 'DeveloperApp':
        inventory.apps.set(mapKey, entry as Entry<DeveloperApp>);
        break;
      case 'DataPlane':
        inventory.dataPlanes.set(mapKey, entry as Entry<DataPlane>);
        break;
      case 'KeyValueMap':
        inventory.keyValueMaps.set(mapKey, entry as Entry<KeyValueMap>);
        break;
      case 'SharedFlow':
        inventory.sharedFlows.set(mapKey, entry as Entry<SharedFlow>);
        break;
      case 'DebugSession':
        inventory.debugSessions.set(mapKey, { ...(entry as Entry<DebugSession>), ...debugStateOf(c.raw) });
        break;
    }
  }
  return inventory;
}
