// The intermediate representation: only accepted objects, references resolved, conditions parsed,
// defaults applied, sorted by namespace/name. Both emitters (runtime snapshot, Envoy) read only this.
import type { Condition } from '../../../protos/gen/json/gatehouse.v1.ts';
import type { PolicyTypeSpec } from '../../../protos/policies/index.ts';
import type { TlsVersion } from '../api/common.ts';
import type { AccessLogField } from '../api/dataplane.ts';
import type { DebugMaskSpec } from '../api/debugsession.ts';

export interface IrStep {
  policy: string;
  condition?: Condition;
}

export interface IrFlowPair {
  request: IrStep[];
  response: IrStep[];
}

export interface IrFlows {
  preFlow: IrFlowPair;
  conditionalFlows: (IrFlowPair & { name: string; condition?: Condition })[];
  postFlow: IrFlowPair;
  postClientFlow: IrFlowPair;
}

export interface IrPolicy {
  name: string;
  type: string;
  continueOnError: boolean;
  enabled: boolean;
  /** The validated configuration member. */
  config: unknown;
  spec: PolicyTypeSpec;
  /** Values of the Secret keys the config names ({secretRef}), by policySecretId; never in the config. */
  secrets: Record<string, string>;
}

export interface IrEndpoint {
  host: string;
  port: number;
}

/** A Kubernetes Secret whose material Envoy gets over SDS. */
export interface IrSecretRef {
  namespace: string;
  name: string;
}

export interface IrUpstreamTls {
  sni: string;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** Its ca.crt verifies the target; without one the system trust store is used. */
  caSecret?: IrSecretRef;
  /** Its tls.crt and tls.key are Envoy's client certificate. */
  clientCertSecret?: IrSecretRef;
}

/**
 * TLS from Envoy to extproc (mutual): Envoy's certificate and the CA bundle from files mounted in the
 * Envoy pod, handed to Envoy as filesystem SDS so that renewals are picked up (Envoy re-reads files
 * only for SDS-delivered secrets).
 */
export interface IrExtProcTls {
  /** Envoy's client certificate chain and key (the mounted `<dataplane>-envoy-tls` Secret). */
  certFile: string;
  keyFile: string;
  /** The CA bundle extproc's certificate must chain to (the mounted `<dataplane>-ca-bundle`). */
  caFile: string;
  /** The name (DNS or IP) extproc's certificate must carry; sent as SNI when it is a DNS name. */
  sni: string;
  /** Folder of the Envoy pod holding the two SDS files of extProcTlsSdsFiles (e.g. the bootstrap ConfigMap's mount). */
  sdsDir: string;
}

/** One upstream cluster: the target of one proxy. */
export interface IrCluster {
  name: string;
  /** static: IP endpoints; dns: host names resolved by Envoy; eds: Kubernetes Services. */
  discovery: 'static' | 'dns' | 'eds';
  /** static and dns clusters */
  endpoints: IrEndpoint[];
  /** eds clusters: the Services whose ready endpoints make up the cluster. */
  services: { namespace: string; name: string; port: number }[];
  loadBalancer: 'RoundRobin' | 'LeastRequest' | 'Random';
  tls?: IrUpstreamTls;
}

export interface IrProcessing {
  requestBody: boolean;
  responseHeaders: boolean;
  responseBody: boolean;
}

export interface IrProxy {
  namespace: string;
  name: string;
  generation: number;
  basePath: string;
  /** Empty: any host. */
  hosts: string[];
  stripBasePath: boolean;
  timeoutMs: number;
  /** target.url variable: the URL, or the cluster name for service targets. */
  targetUrl: string;
  /** Path of the target URL ("" for none), put in front of the forwarded path. */
  targetPathPrefix: string;
  cluster: IrCluster;
  flows: IrFlows;
  faultRules: { name: string; condition?: Condition; steps: IrStep[] }[];
  defaultFaultRule?: { steps: IrStep[]; alwaysEnforce: boolean };
  /** Every policy a step names, sorted by name. */
  policies: IrPolicy[];
  processing: IrProcessing;
  /** "namespace/name" of the SharedFlows its FlowCallout steps call, sorted (absent: none). */
  calls?: string[];
}

export interface IrProduct {
  namespace: string;
  name: string;
  displayName: string;
  proxies: string[];
  resources: string[];
  methods: string[];
  quota?: { limit: number; interval: number; timeUnit: string };
  scopes: string[];
  approval: string;
  attributes: Record<string, string>;
}

export interface IrCredential {
  keyHash: string;
  secretHash: string;
  status: string;
  expiresAtMs: number;
}

export interface IrDeveloper {
  namespace: string;
  name: string;
  email: string;
  firstName: string;
  lastName: string;
  userName: string;
  /** active | inactive */
  status: string;
  attributes: Record<string, string>;
}

export interface IrApp {
  namespace: string;
  name: string;
  /** Name of the Developer that owns it (spec.developerRef); '' for an inline developer. */
  developerRef: string;
  developerEmail: string;
  developerName: string;
  products: { name: string; status: string }[];
  credentials: IrCredential[];
  status: string;
  attributes: Record<string, string>;
  callbackUrl: string;
}

export interface IrListenerTls {
  /** The referenced Secret, or the operator-issued one: its certificate and key, and its ca.crt for client certificates. */
  certificateSecret: IrSecretRef;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  cipherSuites: string[];
  clientCertificate: 'None' | 'Optional' | 'Required';
}

export interface IrListener {
  /** "namespace/dataplane/listener": also the name of its RouteConfiguration. */
  name: string;
  port: number;
  tls?: IrListenerTls;
  /** Host names it serves; empty: every host. */
  hostnames: string[];
  /** Namespaces ApiProxies may attach from: the DataPlane's own, or every one. */
  allowedNamespaces: 'Same' | 'All';
}

/** An ApiProxy attached to a listener, with the hosts it is served on there (empty: every host). */
export interface IrAttachment {
  proxy: IrProxy;
  hosts: string[];
}

export interface IrRequestHandling {
  escapedSlashes: 'Reject' | 'KeepUnchanged' | 'UnescapeAndRedirect' | 'UnescapeAndForward';
  headersWithUnderscores: 'DropHeader' | 'Reject' | 'Allow';
  headersTimeoutMs: number;
}

/** spec.accessLog: the HttpConnectionManager's JSON access log (envoy/access-log.ts). */
export interface IrAccessLog {
  enabled: boolean;
  /** Catalogue field names, in the order given (envoy/access-log.ts accessLogCatalogue). */
  fields: AccessLogField[];
}

/** spec.tracing: the HttpConnectionManager's OpenTelemetry tracer (envoy/tracing.ts). */
export interface IrTracing {
  collector: { host: string; port: number };
  /** spec.tracing.tls: the collector cluster's UpstreamTlsContext (envoy/tracing.ts); absent: plain text. */
  tls?: IrUpstreamTls;
  samplingPercent: number;
  serviceName: string;
}

export interface IrDataPlane {
  namespace: string;
  name: string;
  region: string;
  failureMode: 'FailClosed' | 'FailOpen';
  messageTimeoutMs: number;
  redis?: { mode: string; onUnavailable: string };
  listeners: IrListener[];
  /** spec.requests: how the edge treats requests before any policy (Envoy HCM settings). */
  requests: IrRequestHandling;
  accessLog: IrAccessLog;
  tracing?: IrTracing;
  /** spec.upstream.allowLinkLocalTargets: for ApiProxy targets (compile) and callouts (runtime snapshot). */
  allowLinkLocalTargets: boolean;
  /** spec.upstream.calloutPrivateNetworks: private CIDRs callouts may reach (runtime snapshot). */
  calloutPrivateNetworks: string[];
  /** spec.flowHooks: "namespace/name" of each SharedFlow (of the DataPlane's namespace), absent when unset. */
  flowHooks?: IrFlowHooks;
  /** spec.analytics when enabled (runtime snapshot DataPlane.analytics). */
  analytics?: IrAnalytics;
  /**
   * Whether spec.javaCallouts runs the Java callout host beside its extproc pods; absent for the
   * default DataPlane (folder mode and `gatehouse dev` start the host themselves).
   */
  javaCalloutHost?: boolean;
  /** spec.debugMask: merged into the mask of every DebugSession in its view. */
  debugMask?: DebugMaskSpec;
  /** spec.extproc.maxConnectionAge in ms, absent when unset or 0s (envoy/clusters.ts extProcCluster). */
  extProcMaxConnectionAgeMs?: number;
}

/** An active DebugSession (resolve-debug-sessions.ts). */
export interface IrDebugSession {
  /** metadata.uid. */
  id: string;
  namespace: string;
  name: string;
  /** The ApiProxy of namespace. */
  proxy: string;
  filter?: Condition;
  count: number;
  expiresAtMs: number;
  /** The session's own mask (the DataPlane's is merged in per view). */
  mask?: DebugMaskSpec;
  /** The traced ApiProxy's spec.debugMask. */
  proxyMask?: DebugMaskSpec;
}

/**
 * spec.analytics with its defaults: sinks in the runtime snapshot's shape (protos runtime.proto
 * Analytics); Secret values are named by policy_secrets id and carried in `secrets`.
 */
export interface IrAnalytics {
  queueSize: number;
  batchSize: number;
  flushIntervalMs: number;
  otlp?: {
    endpoint: string;
    insecure: boolean;
    caSecret?: string;
    certSecret?: string;
    keySecret?: string;
    serverName?: string;
  };
  file?: { path: string };
  http?: { url: string; headerSecrets: Record<string, string> };
  /** policy_secrets id -> value of every Secret key the sinks name. */
  secrets: Record<string, string>;
}

export interface IrFlowHooks {
  preProxy?: string;
  preTarget?: string;
  postTarget?: string;
  postProxy?: string;
}

/** An accepted SharedFlow: its steps resolved to policies of its namespace (resolve-shared-flows.ts). */
export interface IrSharedFlow {
  namespace: string;
  name: string;
  generation: number;
  steps: IrStep[];
  /** Every policy a step names, sorted by name. */
  policies: IrPolicy[];
  /** "namespace/name" of the SharedFlows its FlowCallout steps call, sorted. */
  calls: string[];
  /** Whether a step, or a flow it calls, reads the body in the phase the flow is called in. */
  needsBody: { request: boolean; response: boolean };
}

/** An accepted KeyValueMap whose Secrets resolved (resolve-keyvaluemaps.ts). */
export interface IrKeyValueMap {
  namespace: string;
  name: string;
  mapName: string;
  scope: string;
  /** Only the owner of its own scope is set; the others are "". */
  environment: string;
  proxy: string;
  policy: string;
  encrypted: boolean;
  entries: Record<string, string[]>;
  /** Key to policy secret id. */
  secretEntries: Record<string, string>;
  /** The values of those ids; they go to the snapshot's policy_secrets. */
  secrets: Record<string, string>;
}

export interface Ir {
  proxies: IrProxy[];
  products: IrProduct[];
  /** Accepted Developers that some accepted app names. */
  developers: IrDeveloper[];
  apps: IrApp[];
  dataPlanes: IrDataPlane[];
  /** Sorted by namespace/name; absent in IRs built before KeyValueMaps (tests). */
  keyValueMaps?: IrKeyValueMap[];
  /** Accepted SharedFlows, sorted by namespace/name; absent in IRs built before SharedFlows (tests). */
  sharedFlows?: IrSharedFlow[];
  /** Active DebugSessions, sorted by namespace/name; absent in IRs built before them (tests). */
  debugSessions?: IrDebugSession[];
  /** Ready endpoints of the Services eds clusters use, keyed "namespace/name:port". */
  serviceEndpoints: Map<string, IrEndpoint[]>;
  credentialHashKeyHex: string;
}
