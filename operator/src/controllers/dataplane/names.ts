// Every name and label of the objects a DataPlane owns, derived from the DataPlane's name, in one place:
// the renderer, the pruner, the status code and the lead's ApiProxy status all read them from here.
import { apiVersion } from '../../api/common.ts';

export type Component = 'envoy' | 'extproc';
export const components: readonly Component[] = ['envoy', 'extproc'];

export const dataPlaneApiVersion = apiVersion;
export const dataPlaneKind = 'DataPlane';

export const labelKeys = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  dataPlane: 'gatehouse.dev/dataplane',
} as const;

export const managedByValue = 'gatehouse';
/** What every informer of managed objects selects on. */
export const managedSelector = `${labelKeys.managedBy}=${managedByValue}`;

/** Pod-template annotation: the hash of the bootstrap, so a bootstrap change rolls the Envoys. */
export const bootstrapHashAnnotation = 'gatehouse.dev/bootstrap-hash';
/** Object annotation: the hash of what we applied, so a field we stop setting is noticed (apply.ts). */
export const desiredHashAnnotation = 'gatehouse.dev/desired-hash';

/** Deployment, Service, ServiceAccount, PodDisruptionBudget and HorizontalPodAutoscaler of a component. */
export const workloadName = (dataPlane: string, component: Component) => `${dataPlane}-${component}`;
export const bootstrapConfigMapName = (dataPlane: string) => `${dataPlane}-envoy-bootstrap`;

/**
 * The Secrets the pods mount with mutual TLS (kubernetes.io/tls: tls.crt, tls.key; the bundle:
 * ca.crt). The certificates controller (operator/src/certs) creates and rotates them; until it does,
 * pods wait for them.
 */
export const tlsSecretName = (dataPlane: string, component: Component) => `${dataPlane}-${component}-tls`;
export const caBundleSecretName = (dataPlane: string) => `${dataPlane}-ca-bundle`;

/** Labels every object of a component carries. */
export function componentLabels(dataPlane: string, component: Component): Record<string, string> {
  return {
    [labelKeys.name]: component,
    [labelKeys.instance]: dataPlane,
    [labelKeys.component]: component,
    [labelKeys.managedBy]: managedByValue,
    [labelKeys.partOf]: 'gatehouse',
    [labelKeys.dataPlane]: dataPlane,
  };
}

/** The immutable subset a Deployment, Service, PDB and spread constraint select pods by. */
export function selectorLabels(dataPlane: string, component: Component): Record<string, string> {
  return { [labelKeys.name]: component, [labelKeys.instance]: dataPlane, [labelKeys.component]: component };
}

/** Label selector (string form) of every managed object of one DataPlane. */
export const dataPlaneSelector = (dataPlane: string) => `${managedSelector},${labelKeys.dataPlane}=${dataPlane}`;

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

/** Ports inside the pods. */
export const ports = {
  envoyAdmin: 9901,
  /** Envoy's /ready and /stats/prometheus, served by a static listener (bootstrap.ts). */
  envoyReady: 9902,
  extprocGrpc: 9002,
  extprocMetrics: 9003,
} as const;

/** Where the pods mount what they read. */
export const paths = {
  envoyBootstrapDir: '/etc/envoy',
  envoyBootstrapFile: '/etc/envoy/bootstrap.json',
  tlsDir: '/etc/gatehouse/tls',
  caDir: '/etc/gatehouse/ca',
  extprocCacheDir: '/var/cache/gatehouse',
} as const;
export const bootstrapKey = 'bootstrap.json';

/** The files of the mounted Secrets: the component's `tls.crt`/`tls.key`, and `ca.crt` of the trust bundle. */
export const tlsFiles = {
  certificateChain: `${paths.tlsDir}/tls.crt`,
  privateKey: `${paths.tlsDir}/tls.key`,
  trustedCa: `${paths.caDir}/ca.crt`,
} as const;

/** The kinds a DataPlane owns, in the order they are applied (what a pod mounts before the pod). */
export const managedKinds = [
  { kind: 'ServiceAccount', apiVersion: 'v1', group: '', version: 'v1', resource: 'serviceaccounts' },
  { kind: 'ConfigMap', apiVersion: 'v1', group: '', version: 'v1', resource: 'configmaps' },
  { kind: 'Service', apiVersion: 'v1', group: '', version: 'v1', resource: 'services' },
  { kind: 'Deployment', apiVersion: 'apps/v1', group: 'apps', version: 'v1', resource: 'deployments' },
  {
    kind: 'PodDisruptionBudget',
    apiVersion: 'policy/v1',
    group: 'policy',
    version: 'v1',
    resource: 'poddisruptionbudgets',
  },
  {
    kind: 'HorizontalPodAutoscaler',
    apiVersion: 'autoscaling/v2',
    group: 'autoscaling',
    version: 'v2',
    resource: 'horizontalpodautoscalers',
  },
] as const;
export type ManagedKind = (typeof managedKinds)[number];
export type ManagedKindName = ManagedKind['kind'];

/** The DNS name Envoy (the compiled `gatehouse-extproc` cluster) reaches a DataPlane's extproc pods by. */
export const extprocServiceHost = (namespace: string, dataPlane: string) =>
  `${workloadName(dataPlane, 'extproc')}.${namespace}.svc`;
