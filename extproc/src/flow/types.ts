// The contract between the flow engine and the policies. Policies are pure functions of (config,
// message, variables, stores): they see only these interfaces, never gRPC or Envoy types.
import type { Logger } from 'pino';
import type { App__Output } from '../../../protos/gen/gatehouse/v1/App.ts';
import type { Credential__Output } from '../../../protos/gen/gatehouse/v1/Credential.ts';
import type { Developer__Output } from '../../../protos/gen/gatehouse/v1/Developer.ts';
import type { Product__Output } from '../../../protos/gen/gatehouse/v1/Product.ts';
import type { MessageContext, MessageContext__Output } from '../../../protos/gen/apigee/MessageContext.ts';
import type { Proxy__Output } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import type { BodyKind } from '../../../protos/policies/content-type.ts';
import type { KvmAddress } from '../../../protos/policies/mediation/key-value-map-operations.ts';
import type { RefOr, SecretRef } from '../../../protos/policies/schema.ts';
import type { AdmissionOp, AdmissionOutcome, Stores } from '../stores/types.ts';
import type { Offload } from './offload.ts';
import type { VariableLayer } from './variables.ts';

export type Phase = 'request' | 'response';

/** Case-insensitive, multi-valued HTTP headers that remember what changed (for header mutations). */
export interface Headers {
  get(name: string): string | undefined;
  getAll(name: string): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  add(name: string, value: string): void;
  remove(name: string): void;
  /** Lower-cased names with their values, in arrival order. */
  entries(): Array<[string, string[]]>;
}

/**
 * A message body, parsed at most once and lazily (docs/architecture.md#the-flow-engine): `json()`/`xml()` parse on first call
 * and cache; setters mark the body changed so it is re-serialised once at the end of the phase.
 */
export interface Body {
  /** Whether Envoy sent a body for this phase (the processing mode asked for it). */
  readonly available: boolean;
  readonly size: number;
  bytes(): Buffer;
  text(): string;
  /** Parsed JSON (prototype-poisoning safe); throws a PolicyFault-free BodyParseError on bad JSON. */
  json(): unknown;
  /**
   * What the body is, by every Content-Type value of the message (protos/policies/content-type.ts):
   * json, xml, form or other; sniffed by its first character when there is no Content-Type; undefined
   * when the body is empty. Throws DuplicateContentTypeError or MalformedContentTypeError for a
   * Content-Type that names several media types or none that parses: every body-reading guard refuses those.
   */
  kind(): BodyKind | undefined;
  setText(text: string, contentType?: string): void;
  setJson(value: unknown): void;
  readonly changed: boolean;
}

export interface Message {
  readonly headers: Headers;
  readonly body: Body;
}

export interface RequestMessage extends Message {
  /** request.verb */
  method: string;
  /** request.path: the path without the query string, as the client sent it. */
  path: string;
  /** request.querystring, without the leading "?". */
  query: string;
  readonly scheme: string;
  readonly authority: string;
}

export interface ResponseMessage extends Message {
  status: number;
  reasonPhrase?: string;
}

/** Flow variables (docs/architecture.md#the-flow-engine). Message-backed names (request.header.x, ...) are read live. */
export interface Variables {
  /** The value, or undefined when the variable is unknown (conditions treat it as null). */
  get(name: string): unknown;
  getString(name: string): string | undefined;
  set(name: string, value: unknown): void;
  /**
   * Sets every variable of a frozen, shared layer (flow/variables.ts VariableLayer) as one set() per
   * name would, without copying it per request: later set()s of its names win, remove() and namesUnder()
   * see its names.
   */
  setLayer(layer: VariableLayer): void;
  /** Unsets a variable a policy set, and every variable below it (`a` removes `a.b`); not message-backed names. */
  remove(name: string): void;
  /** The names of the variables policies set that are `prefix` or below it (`prefix.x`), sorted. */
  namesUnder(prefix: string): string[];
  /** Resolves a literal-or-{ref} config value. */
  resolve<T>(value: RefOr<T> | undefined): T | string | undefined;
  /** Expands a text template (`{variable}`, `{fn(args)}`; flow/templates.ts); unknown variables expand to "". */
  template(text: string): string;
  /** request, response, or a message variable AssignMessage createNew made; undefined when there is none. */
  message(name: string): RequestMessage | ResponseMessage | undefined;
  /** Whether `name` is set to something that is not a message. */
  holdsNonMessage(name: string): boolean;
}

/** The parts of the runtime snapshot that policies look up, indexed once per snapshot. */
export interface RuntimeIndex {
  readonly version: string;
  /** HMAC-SHA256 with the snapshot's credential hash key, hex: how consumer keys are looked up. */
  hashCredential(value: string): string;
  /**
   * How request-derived parts of store keys (quota and spike arrest identifiers, cache key fragments)
   * are named in the stores: HMAC-SHA256, base64url, with a key derived from the credential hash key
   * (config/runtime-index.ts). Redis never sees an API key, a client id or a header value in clear.
   */
  hashStoreKey(value: string): string;
  /**
   * Encrypts a value the shared store keeps for a KeyValueMap that is encrypted (AES-256-GCM, key
   * derived from the credential hash key like hashStoreKey's): Redis never holds such a value in clear.
   */
  sealStoreValue(plain: string): string;
  /** The value sealStoreValue sealed; undefined when it does not open under this key (tampered, other key). */
  openStoreValue(sealed: string): string | undefined;
  /**
   * The value of a Secret key a policy config names (`{secretRef: {name, key}}`, in the policy's
   * namespace), from the snapshot's policy_secrets; undefined when the snapshot has none. Never log it.
   */
  policySecret(namespace: string, ref: SecretRef['secretRef']): string | undefined;
  /** What callouts may reach: the snapshot's DataPlane's switches (none: the defaults, refusing). */
  readonly egressRules: EgressRules;
  findCredential(keyHash: string): { app: App__Output; credential: Credential__Output } | undefined;
  /**
   * The credential an API key names: findCredential(hashCredential(key)), with the HMAC of keys that
   * matched kept for the snapshot's life (bounded; docs/architecture.md#the-hot-path).
   */
  findApiKey(key: string): { app: App__Output; credential: Credential__Output } | undefined;
  product(namespace: string, name: string): Product__Output | undefined;
  /**
   * The KeyValueMap a KeyValueMapOperations step names (docs/policies.md#keyvaluemapoperations): only
   * maps of the step's own namespace are ever found. Undefined when no KeyValueMap declares it.
   */
  keyValueMap(where: KeyValueMapLookup): DeclaredKeyValueMap | undefined;
  /** An app by namespace and name. */
  app(namespace: string, name: string): App__Output | undefined;
  /** The apps of a namespace whose developer has this email (case-insensitive), inline or a Developer's. */
  appsOfDeveloper(namespace: string, email: string): readonly App__Output[];
  /** A Developer by namespace and name. */
  developer(namespace: string, name: string): Developer__Output | undefined;
  /** A Developer of a namespace by email (case-insensitive). */
  developerByEmail(namespace: string, email: string): Developer__Output | undefined;
  /**
   * Whether the app's developer is active: an inline developer is; a Developer must exist in the
   * snapshot with status active (docs/policies.md, VerifyAPIKey: DeveloperStatusNotActive).
   */
  developerActive(app: App__Output): boolean;
  /**
   * The scopes of an app's keys, as Apigee gives a credential the scopes of its API products: the union
   * of the scopes of its Approved products, sorted. OAuthV2 narrows token scopes to these.
   */
  credentialScopes(app: App__Output): readonly string[];
}

/** Which map a step means: Apigee's scope, resolved against the step's region, ApiProxy and ApiPolicy. */
export type KeyValueMapLookup = KvmAddress;

/** A KeyValueMap's declared entries, values from Secrets resolved. Never log a value of an encrypted map. */
export interface DeclaredKeyValueMap {
  readonly encrypted: boolean;
  /** The values of a key, or undefined. */
  get(key: string): readonly string[] | undefined;
}

/** A JSON Web Key Set as fetched: `{keys: [...]}` (RFC 7517 section 5). */
export interface JsonWebKeySet {
  keys: Array<Record<string, unknown>>;
}

/** Where keys published at a URL come from: https JWKS URLs or OpenID discovery documents. */
export type RemoteKeySource = { jwksUri: string } | { discoveryUri: string };

/**
 * Key sets fetched from URLs (extproc/src/keys/remote-key-sets.ts), so that policies stay free of I/O:
 * cached per URL, refetched at most once per interval when a token names a kid the cached set lacks,
 * served stale for a bounded time when the URL fails. Rejects when it has no keys to give.
 */
export interface RemoteKeySets {
  jwks(source: RemoteKeySource, unknownKid?: string): Promise<JsonWebKeySet>;
}

/** An ExternalCallout server and the TLS material to reach it (PEM; absent tls: plain text). */
export interface CalloutTarget {
  /** host:port */
  address: string;
  tls?: { ca?: string; cert?: string; key?: string; serverName?: string };
}

/**
 * ExternalCallout servers (extproc/src/callouts/): one pooled gRPC channel per target, reused across
 * requests and snapshots, so that policies stay free of gRPC. `call` rejects only with a
 * CalloutTlsError or a CalloutCallError (flow/faults.ts) and always settles by the deadline.
 */
export interface ExternalCallouts {
  call(target: CalloutTarget, message: MessageContext, timeoutMs: number): Promise<MessageContext__Output>;
}

/**
 * Which addresses a callout may reach besides public ones: the DataPlane's switches, from the runtime
 * snapshot (docs/policies.md#servicecallout). Link-local and metadata addresses are refused unless
 * allowLinkLocal; private, loopback and unique local ones unless inside privateNetworks.
 */
export interface EgressRules {
  /** spec.upstream.allowLinkLocalTargets. */
  readonly allowLinkLocal: boolean;
  /** spec.upstream.calloutPrivateNetworks: CIDR blocks. */
  readonly privateNetworks: readonly string[];
}

/** TLS of one callout; PEM text. Never logged. */
export interface EgressTls {
  /** CA bundle trusted instead of Node's roots; absent: Node's roots. */
  ca?: string;
  /** Client certificate chain and its key (mTLS). */
  cert?: string;
  key?: string;
  /** false: the server's certificate is not checked (Apigee's IgnoreValidationErrors). Default true. */
  verify?: boolean;
}

export interface EgressRequest {
  /** http: or https: URL. */
  url: string;
  method: string;
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Buffer;
}

export interface EgressOptions {
  /** The whole exchange: connect, TLS, request, response headers and body. */
  timeoutMs: number;
  /** Connect and TLS handshake alone; default the smaller of timeoutMs and the client's default. */
  connectTimeoutMs?: number;
  /** Larger bodies fail with EgressResponseTooLargeError; default the client's. */
  maxResponseBytes?: number;
  tls?: EgressTls;
  rules: EgressRules;
  /**
   * A host name the configuration chose (a ServiceCallout's Service, not request data): for a URL of
   * exactly this host, private and loopback addresses are allowed; link-local and metadata ones stay
   * refused unless rules.allowLinkLocal.
   */
  allowPrivateFor?: string;
}

export interface EgressResponse {
  status: number;
  reasonPhrase: string;
  /** Lower-cased names, in arrival order; repeated headers repeat. */
  headers: Array<[string, string]>;
  body: Buffer;
}

/**
 * Outbound HTTP for policies (extproc/src/egress/, docs/architecture.md#egress): pooled per origin and
 * TLS settings, the target address checked at connect time, no redirects followed. Rejects with one
 * error class per failure (egress/errors.ts).
 */
export interface Egress {
  send(request: EgressRequest, options: EgressOptions): Promise<EgressResponse>;
}

/** Where one MessageLogging policy sends (docs/policies.md#messagelogging); TLS material is PEM, never logged. */
export type MessageLogTarget =
  | { kind: 'udp' | 'tcp'; host: string; port: number }
  | { kind: 'tls'; host: string; port: number; tls: EgressTls }
  | { kind: 'http'; url: string; method: string; headers: ReadonlyArray<readonly [string, string]>; timeoutMs: number }
  | { kind: 'stdout' };

/**
 * MessageLogging's background senders (extproc/src/egress/message-log.ts): one per namespace and
 * target, each draining a bounded queue with reconnects and bounded retries. `send` only enqueues: it
 * never waits and never throws; a message it cannot queue is dropped and counted.
 */
export interface MessageLogs {
  /** Queued, or dropped at once (queue full, the senders closed). */
  send(namespace: string, target: MessageLogTarget, message: Buffer, rules: EgressRules): 'queued' | 'dropped';
}

export interface PolicyContext {
  readonly phase: Phase;
  readonly request: RequestMessage;
  /** Present in the response phase. */
  readonly response: ResponseMessage | undefined;
  readonly variables: Variables;
  readonly stores: Stores;
  /** Where CPU-heavy body work runs: inline for small bodies, else on the worker pool (flow/offload.ts). */
  readonly offload: Offload;
  readonly runtime: RuntimeIndex;
  /** JWKS and OpenID discovery documents by URL (VerifyJWT, VerifyJWS). */
  readonly keys: RemoteKeySets;
  /** gRPC ExternalCallout servers (ExternalCallout). */
  readonly callouts: ExternalCallouts;
  /** Outbound HTTP (ServiceCallout). */
  readonly egress: Egress;
  /** MessageLogging's background senders. */
  readonly messageLogs: MessageLogs;
  readonly proxy: Proxy__Output;
  /** Milliseconds since the epoch; injectable for tests. */
  now(): number;
  readonly log: Logger;
}

/** An answer a policy sends itself without it being a fault (CORS preflight, cache hit). */
export interface DirectResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a step returns: nothing (go on) or a response to send to the client now. */
export type StepResult = undefined | { respond: DirectResponse };

/** One request's admission op, and what to make of the store's answer to it. */
export interface AdmissionPlan {
  op: AdmissionOp;
  /** Sets the step's variables from the answer; throws the step's PolicyFault when it was refused. */
  settle(outcome: AdmissionOutcome): void;
}

/**
 * The form of a step whose whole work is one store admission op (SpikeArrest, Quota): the flow
 * compiler merges consecutive ones into one Stores.admit call (flow/admission.ts).
 */
export interface Admission {
  /** Resolves the request's op; throws the step's PolicyFault when it cannot (a bad ref). Touches no store. */
  plan(ctx: PolicyContext): AdmissionPlan;
}

/** A configured policy, ready to run; built once per snapshot by its implementation's `create`. */
export interface PolicyStep {
  (ctx: PolicyContext): StepResult | Promise<StepResult>;
  /** Present when running the step is exactly plan, one store op, settle. */
  readonly admission?: Admission;
}

export interface PolicyMeta {
  namespace: string;
  name: string;
}

/** One policy type's implementation: a row of extproc/src/policies/registry.ts. */
export interface PolicyImplementation<Config = unknown> {
  type: string;
  /** Prepares a step from validated config (compile regexes, CIDRs, ...). May throw a GatehouseError. */
  create(config: Config, meta: PolicyMeta): PolicyStep;
}
