// Every name Gatehouse derives for what it owns, in one place: the objects of a DataPlane's workloads,
// the Secrets of the certificates it issues, the SDS secret names, the xDS node.cluster format, the
// SPIFFE identities, the extproc Service host, the bootstrap ConfigMap and its keys, the ports and
// mount paths inside the pods, the labels and annotations, the operator's own Lease, node reports and
// credential hash key. The side that makes a name (the renderer, the certificate controller, the
// compiler) and the side that reads it back (the pods' mounts, the xDS server, the informers'
// selectors) import it from here, so the two cannot drift; operator/src/names.test.ts runs each pair
// against each other. Pure (no I/O, no imports but api/common.ts): the compiler may import it.
// (api/names.test.ts is another matter: it keeps the CRDs' own names clear of well-known ones.)
import { apiVersion } from './common.ts';

// ------------------------------------------------------------------------------------------ DataPlane

export type Component = 'envoy' | 'extproc';
export const components: readonly Component[] = ['envoy', 'extproc'];

/** The owner of every managed object, as its owner references name it. */
export const dataPlaneApiVersion = apiVersion;
export const dataPlaneKind = 'DataPlane';

/** Field manager of every server-side apply Gatehouse makes (workloads, certificates, node reports, status). */
export const fieldManager = 'gatehouse';

// ------------------------------------------------------------------------------------------ labels

export const labelKeys = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  dataPlane: 'gatehouse.dev/dataplane',
} as const;

export const managedByValue = 'gatehouse';
export const partOfValue = 'gatehouse';
/** Every object Gatehouse writes (workloads, certificate Secrets, node reports) carries it. */
export const managedSelector = `${labelKeys.managedBy}=${managedByValue}`;
/** Data-plane pods (remediation reads them); the DataPlane renderer puts this label on every object. */
export const dataPlanePodSelector = `${labelKeys.partOf}=${partOfValue}`;
/** The Envoy Services of every DataPlane (their load-balancer addresses become listener certificate SANs). */
export const envoyServiceSelector = `${managedSelector},${labelKeys.component}=envoy`;

/** Labels every object of a component carries. */
export function componentLabels(dataPlane: string, component: Component): Record<string, string> {
  return {
    [labelKeys.name]: component,
    [labelKeys.instance]: dataPlane,
    [labelKeys.component]: component,
    [labelKeys.managedBy]: managedByValue,
    [labelKeys.partOf]: partOfValue,
    [labelKeys.dataPlane]: dataPlane,
  };
}

/** The immutable subset a Deployment, Service, PDB and spread constraint select pods by. */
export function selectorLabels(dataPlane: string, component: Component): Record<string, string> {
  return { [labelKeys.name]: component, [labelKeys.instance]: dataPlane, [labelKeys.component]: component };
}

// ------------------------------------------------------------------------------------------ workloads

/** Deployment, Service, ServiceAccount, PodDisruptionBudget and HorizontalPodAutoscaler of a component. */
export const workloadName = (dataPlane: string, component: Component) => `${dataPlane}-${component}`;

/** The in-cluster DNS name of a Service (what certificates carry and clients check). */
export const serviceHost = (namespace: string, service: string) => `${service}.${namespace}.svc`;

/** The DNS name Envoy (the compiled `gatehouse-extproc` cluster) and the deep check reach a DataPlane's extproc pods by. */
export const extprocServiceHost = (namespace: string, dataPlane: string) =>
  serviceHost(namespace, workloadName(dataPlane, 'extproc'));
/** The Envoy Service's DNS name (Envoy's client certificate and the listener certificates carry it). */
export const envoyServiceHost = (namespace: string, dataPlane: string) =>
  serviceHost(namespace, workloadName(dataPlane, 'envoy'));

/** The ConfigMap of Envoy's bootstrap, mounted at paths.envoyBootstrapDir. */
export const bootstrapConfigMapName = (dataPlane: string) => `${dataPlane}-envoy-bootstrap`;
/** Its keys: the bootstrap, and with mutual TLS the filesystem SDS files of the xDS and extproc clusters. */
export const bootstrapKeys = {
  bootstrap: 'bootstrap.json',
  xdsClientSds: 'sds-xds-client.json',
  xdsCaSds: 'sds-xds-ca.json',
  extprocClientSds: 'sds-extproc-client.json',
  extprocCaSds: 'sds-extproc-ca.json',
} as const;
export const bootstrapKey = bootstrapKeys.bootstrap;

/** Pod-template annotation: the hash of the bootstrap, so a bootstrap change rolls the Envoys. */
export const bootstrapHashAnnotation = 'gatehouse.dev/bootstrap-hash';
/** Object annotation: the hash of what we applied, so a field we stop setting is noticed (apply.ts). */
export const desiredHashAnnotation = 'gatehouse.dev/desired-hash';

/**
 * The path of the route every data-plane listener should answer itself (a direct_response 200, ext_proc
 * off, no upstream), for the operator's deep check of Envoy pods (remediation/envoy-deep-check.ts).
 * Not compiled yet: the check asks it only when configured with it.
 */
export const envoyHealthPath = '/.gatehouse/healthz';

/** Ports inside the pods. */
export const ports = {
  envoyAdmin: 9901,
  /** Envoy's /ready and /stats/prometheus, served by a static listener (bootstrap.ts). */
  envoyReady: 9902,
  /** extproc's ext_proc gRPC (Envoy's streams, the deep check). */
  extprocGrpc: 9002,
  extprocMetrics: 9003,
} as const;

/** Data keys of the Secrets Gatehouse issues (kubernetes.io/tls and the CA bundle, the operator CA). */
export const secretKeys = {
  tlsCert: 'tls.crt',
  tlsKey: 'tls.key',
  caCert: 'ca.crt',
  caKey: 'ca.key',
  /** The operator CA during a rotation: the new CA before it signs (step 1). */
  nextCert: 'next.crt',
  nextKey: 'next.key',
  /** The operator CA during a rotation: the old CA, still trusted, no longer signing (steps 2-3). */
  previousCert: 'previous.crt',
} as const;

/** Where the pods mount what they read. */
export const paths = {
  envoyBootstrapDir: '/etc/envoy',
  envoyBootstrapFile: `/etc/envoy/${bootstrapKeys.bootstrap}`,
  /** The component's certificate Secret (tlsSecretName). */
  tlsDir: '/etc/gatehouse/tls',
  /** The DataPlane's trust bundle Secret (caBundleSecretName). */
  caDir: '/etc/gatehouse/ca',
  extprocCacheDir: '/var/cache/gatehouse',
} as const;

/** The files of the mounted Secrets: the component's `tls.crt`/`tls.key`, and `ca.crt` of the trust bundle. */
export const tlsFiles = {
  certificateChain: `${paths.tlsDir}/${secretKeys.tlsCert}`,
  privateKey: `${paths.tlsDir}/${secretKeys.tlsKey}`,
  trustedCa: `${paths.caDir}/${secretKeys.caCert}`,
} as const;

// ------------------------------------------------------------------------------------------ xDS

/** xDS node.cluster of a data-plane pod; node.id is the pod name. */
export const nodeCluster = (namespace: string, dataPlane: string, component: Component) =>
  `${namespace}/${dataPlane}/${component}`;

export interface NodeClusterRef {
  namespace: string;
  dataPlane: string;
  component: Component;
}

/** The DataPlane and component of an xDS node.cluster, or undefined when it is not one of ours. */
export function parseNodeCluster(cluster: string): NodeClusterRef | undefined {
  const parts = cluster.split('/');
  if (parts.length !== 3) return undefined;
  const [namespace, dataPlane, component] = parts as [string, string, string];
  if (!namespace || !dataPlane || !(components as readonly string[]).includes(component)) return undefined;
  return { namespace, dataPlane, component: component as Component };
}

/** The operator's xDS Service (default name), in the operator's namespace. */
export const defaultXdsServiceName = 'gatehouse-xds';
export const xdsServiceHost = (operatorNamespace: string, service = defaultXdsServiceName) =>
  serviceHost(operatorNamespace, service);

/**
 * SDS secrets served over ADS, named after the Secret they come from: `tls:<ns>/<name>` is its
 * tls.crt and tls.key, `ca:<ns>/<name>` its ca.crt. The compiler names them (compile/envoy/secrets.ts) and
 * hands the xDS server each with its Secret as data (Snapshot.secretRefs).
 */
export const sdsCertificateName = (secret: string) => `tls:${secret}`;
export const sdsCaName = (secret: string) => `ca:${secret}`;

/** Filesystem SDS secrets (files Envoy reads itself, in the bootstrap ConfigMap) of the xDS and extproc clusters. */
export const xdsSdsNames = { certificate: 'gatehouse-xds-client', validation: 'gatehouse-xds-ca' } as const;
export const extProcSdsNames = { certificate: 'gatehouse-extproc-client', validation: 'gatehouse-extproc-ca' } as const;
export const xdsSdsFileNames = { certificate: bootstrapKeys.xdsClientSds, validation: bootstrapKeys.xdsCaSds } as const;
export const extProcSdsFileNames = {
  certificate: bootstrapKeys.extprocClientSds,
  validation: bootstrapKeys.extprocCaSds,
} as const;

// ------------------------------------------------------------------------------------------ certificates

/**
 * The Secrets the pods mount with mutual TLS (kubernetes.io/tls: tls.crt, tls.key; the bundle:
 * ca.crt). The certificates controller (operator/src/certs) creates and rotates them; until it does,
 * pods wait for them.
 */
export const tlsSecretName = (dataPlane: string, component: Component) => `${dataPlane}-${component}-tls`;
export const caBundleSecretName = (dataPlane: string) => `${dataPlane}-ca-bundle`;
/**
 * The serving certificate of an HTTPS listener with `tls.issue: true`. "-listener-" keeps it apart
 * from the component Secrets: a listener may well be called "envoy" or "extproc".
 */
export const listenerTlsSecretName = (dataPlane: string, listener: string) => `${dataPlane}-listener-${listener}-tls`;

/** The operator's CA (operator namespace): signs the xDS server and every DataPlane without caSecretName. */
export const operatorCaSecretName = 'gatehouse-ca';
/** The xDS server's certificate (tls.crt, tls.key) and the CAs it accepts clients from (ca.crt). */
export const xdsTlsSecretName = 'gatehouse-xds-tls';

/** Label on every Secret the certificates controller writes; with managed-by it is what its Secret informer selects. */
export const certificateLabel = 'gatehouse.dev/certificate';
/** ca | bundle | leaf: what a Secret holds. */
export const roleLabel = 'gatehouse.dev/certificate-role';
export type SecretRole = 'ca' | 'bundle' | 'leaf';
export const certificateSelector = `${managedSelector},${certificateLabel}=true`;

/** Annotations of the certificate Secrets (and one of the DataPlane). */
export const certificateAnnotations = {
  /** Leaf: when we issued it (our clock); the propagation delay runs from here. */
  issuedAt: 'gatehouse.dev/issued-at',
  /** Leaf: Issued | Renewed | Reissued | Expired | Invalid, and why, for status and humans. */
  issueReason: 'gatehouse.dev/issue-reason',
  issueMessage: 'gatehouse.dev/issue-message',
  /** Leaf: when it will be renewed (informational). */
  renewAt: 'gatehouse.dev/renew-at',
  /** Bundle (and the xDS Secret's ca.crt): when its set of CAs last changed. */
  trustChangedAt: 'gatehouse.dev/trust-changed-at',
  /** Bundle: fingerprints of the user CAs (caSecretName) it carries, so an old one is known when it leaves. */
  userCas: 'gatehouse.dev/user-cas',
  /** Operator CA: Stable | Adding | Reissuing (derived from the data keys; shown for humans). */
  caPhase: 'gatehouse.dev/ca-rotation-phase',
  /** Operator CA: when it entered that phase (informational). */
  caPhaseSince: 'gatehouse.dev/ca-rotation-phase-since',
  /** Operator CA: set it (any new value) to ask for a rotation; `rotatedFor` records the value served. */
  rotate: 'gatehouse.dev/rotate',
  rotatedFor: 'gatehouse.dev/rotated-for',
  /** DataPlane: extra SANs for issued listener certificates, comma or space separated DNS names and IPs. */
  certificateSans: 'gatehouse.dev/certificate-sans',
} as const;

/** SPIFFE-style identity of a data-plane component: the xDS node.cluster `<ns>/<dp>/<component>` as a URI SAN. */
const trustDomain = 'gatehouse';
export const componentIdentity = (namespace: string, dataPlane: string, component: Component) =>
  `spiffe://${trustDomain}/ns/${namespace}/dataplane/${dataPlane}/${component}`;
export const operatorIdentity = (namespace: string) => `spiffe://${trustDomain}/ns/${namespace}/operator`;

/** The DataPlane and component of a client certificate's URI SAN, or undefined (for the xDS server's check against node.cluster). */
export function parseComponentIdentity(uri: string): NodeClusterRef | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/dataplane\/([^/]+)\/(envoy|extproc)$/.exec(uri);
  if (!m || m[1] !== trustDomain) return undefined;
  return { namespace: m[2]!, dataPlane: m[3]!, component: m[4] as Component };
}

// ------------------------------------------------------------------------------------------ credentials

/**
 * The label that opts a Secret in: DeveloperApp credentials, upstream TLS material, the credential
 * hash key, and the listener certificates served over SDS. The operator never lists Secrets it was
 * not pointed at (docs/operations.md, Install: Steps).
 */
export const credentialSecretLabel = 'gatehouse.dev/credential';
/** The HMAC key of consumer keys and secrets: `key` of this Secret, in the operator's namespace (the chart creates it). */
export const credentialKeySecretName = 'gatehouse-credential-hash-key';
export const credentialKeyDataKey = 'key';

// ------------------------------------------------------------------------------------------ the operator's own

/** The Lease replicas elect their leader on (operator namespace; `--lease-name` overrides it). */
export const defaultLeaseName = 'gatehouse-operator';

/** Each replica's report of its xDS nodes: a ConfigMap in the operator's namespace (controllers/node-reports.ts). */
export const nodeReportLabel = 'gatehouse.dev/node-report';
/** What the node-report informer selects: the reports carry managed-by too, like everything we write. */
export const nodeReportSelector = `${managedSelector},${nodeReportLabel}=true`;
export const nodeReportDataKey = 'nodes.json';
export const nodeReportAnnotations = {
  heartbeat: 'gatehouse.dev/heartbeat',
  identity: 'gatehouse.dev/identity',
} as const;
/** ConfigMap names allow 253 characters of a DNS subdomain; pod names fit. */
export const nodeReportName = (identity: string) =>
  `gatehouse-nodes-${identity.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}`.slice(0, 253).replace(/[-.]+$/, '');

// ------------------------------------------------------------------------------------------ admission webhook

/** The validating admission webhook's Service (default name), in the operator's namespace; its certificate names it. */
export const defaultWebhookServiceName = 'gatehouse-webhook';
export const webhookServiceHost = (operatorNamespace: string, service = defaultWebhookServiceName) =>
  serviceHost(operatorNamespace, service);
/** The webhook's serving certificate (kubernetes.io/tls: tls.crt, tls.key), signed by the operator CA. */
export const webhookTlsSecretName = 'gatehouse-webhook-tls';
/** The ValidatingWebhookConfiguration whose caBundle the leader keeps current (the chart creates it; RBAC names it). */
export const defaultWebhookConfigurationName = 'gatehouse-validation';
/** The path the apiserver posts AdmissionReviews to. */
export const webhookPath = '/validate';
/** The port the webhook listens on in the operator's pod (the Service's targetPort). */
export const defaultWebhookPort = 9443;
