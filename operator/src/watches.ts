// Every kind the kube operator reads through informers, once: its resource (group, version, plural)
// and whether it is namespaced; and the kinds a DataPlane owns, in the order they are applied.
import { group, version } from './api/common.ts';
import { kinds } from './api/kinds.ts';

export interface ResourceType<K extends string = string> {
  kind: K;
  apiVersion: string;
  /** '' for the core group. */
  group: string;
  version: string;
  resource: string;
  namespaced: boolean;
}

const core = <K extends string>(kind: K, resource: string, namespaced = true): ResourceType<K> => ({
  kind,
  apiVersion: 'v1',
  group: '',
  version: 'v1',
  resource,
  namespaced,
});
const grouped = <K extends string>(kind: K, g: string, v: string, resource: string): ResourceType<K> => ({
  kind,
  apiVersion: `${g}/${v}`,
  group: g,
  version: v,
  resource,
  namespaced: true,
});
const ours = <K extends string>(kind: K): ResourceType<K> =>
  grouped(kind, group, version, kinds.find((k) => k.kind === kind)!.plural);

/** Every kind the operator reads through informers, once. */
export const resources = {
  ApiProxy: ours('ApiProxy'),
  ApiPolicy: ours('ApiPolicy'),
  ApiProduct: ours('ApiProduct'),
  Developer: ours('Developer'),
  DeveloperApp: ours('DeveloperApp'),
  DataPlane: ours('DataPlane'),
  KeyValueMap: ours('KeyValueMap'),
  SharedFlow: ours('SharedFlow'),
  DebugSession: ours('DebugSession'),
  Secret: core('Secret', 'secrets'),
  Service: core('Service', 'services'),
  EndpointSlice: grouped('EndpointSlice', 'discovery.k8s.io', 'v1', 'endpointslices'),
  Pod: core('Pod', 'pods'),
  Node: core('Node', 'nodes', false),
  ServiceAccount: core('ServiceAccount', 'serviceaccounts'),
  ConfigMap: core('ConfigMap', 'configmaps'),
  Deployment: grouped('Deployment', 'apps', 'v1', 'deployments'),
  PodDisruptionBudget: grouped('PodDisruptionBudget', 'policy', 'v1', 'poddisruptionbudgets'),
  HorizontalPodAutoscaler: grouped('HorizontalPodAutoscaler', 'autoscaling', 'v2', 'horizontalpodautoscalers'),
} as const satisfies Record<string, ResourceType>;

export type OurKind =
  | 'ApiProxy'
  | 'ApiPolicy'
  | 'ApiProduct'
  | 'Developer'
  | 'DeveloperApp'
  | 'DataPlane'
  | 'KeyValueMap'
  | 'SharedFlow'
  | 'DebugSession';

/** The kinds a DataPlane owns, in the order they are applied (what a pod mounts before the pod). */
export const managedKinds = [
  resources.ServiceAccount,
  resources.ConfigMap,
  resources.Service,
  resources.Deployment,
  resources.PodDisruptionBudget,
  resources.HorizontalPodAutoscaler,
] as const;
export type ManagedKind = (typeof managedKinds)[number];
export type ManagedKindName = ManagedKind['kind'];
