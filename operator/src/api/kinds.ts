// The kinds of group gatehouse.dev: their names, schemas and printer columns. crds/ is generated
// from this table (scripts/gen-crds.ts) and the compiler validates folder-mode objects against it.
import { apiPolicySpec, apiPolicyStatus, type ApiPolicySpec } from './apipolicy.ts';
import { apiProductSpec, apiProductStatus, type ApiProductSpec } from './apiproduct.ts';
import { apiProxySpec, apiProxyStatus, type ApiProxySpec } from './apiproxy.ts';
import type { ObjectMeta } from './common.ts';
import { debugSessionSpec, debugSessionStatus, type DebugSessionSpec } from './debugsession.ts';
import { dataPlaneSpec, dataPlaneStatus, type DataPlaneSpec } from './dataplane.ts';
import { developerSpec, developerStatus, type DeveloperSpec } from './developer.ts';
import { developerAppSpec, developerAppStatus, type DeveloperAppSpec } from './developerapp.ts';
import { keyValueMapSpec, keyValueMapStatus, type KeyValueMapSpec } from './keyvaluemap.ts';
import type { Schema } from './schema.ts';
import { sharedFlowSpec, sharedFlowStatus, type SharedFlowSpec } from './sharedflow.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
  priority?: number;
}

export interface KindSpec {
  kind: string;
  /** What an object of this kind is: the CRD's top-level description (kubectl explain) and docs/api.md's intro. */
  description: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: Schema<unknown>;
  status: Schema<unknown>;
  printerColumns: PrinterColumn[];
  /** The spec goes into the snapshot as is, so folder mode fills in schema defaults like the apiserver. */
  fillDefaults?: boolean;
}

const conditionColumn = (type: string, priority?: number): PrinterColumn => ({
  name: type,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  ...(priority ? { priority } : {}),
});
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const kinds: readonly KindSpec[] = [
  {
    kind: 'ApiProxy',
    description:
      'An API proxy (Apigee: an API proxy with one proxy and one target endpoint): the base path and hosts it serves, the upstream it forwards to, and the ApiPolicy steps run on the request, the response and faults. The operator compiles it into Envoy routes and clusters and into the runtime snapshot extproc runs.',
    plural: 'apiproxies',
    singular: 'apiproxy',
    shortNames: ['apx'],
    spec: apiProxySpec,
    status: apiProxyStatus,
    printerColumns: [
      { name: 'Base Path', type: 'string', jsonPath: '.spec.basePath' },
      conditionColumn('Accepted'),
      conditionColumn('Programmed'),
      { name: 'Synced', type: 'string', jsonPath: '.status.dataPlanesSynced' },
      age,
    ],
  },
  {
    kind: 'ApiPolicy',
    description:
      'A policy (Apigee: a policy, such as Quota, SpikeArrest or VerifyAPIKey): a type and its configuration, run by ApiProxy steps of the same namespace. Only implemented types are accepted; docs/policies.md describes each.',
    plural: 'apipolicies',
    singular: 'apipolicy',
    shortNames: ['ghpolicy'],
    spec: apiPolicySpec,
    status: apiPolicyStatus,
    fillDefaults: true,
    printerColumns: [
      { name: 'Type', type: 'string', jsonPath: '.spec.type' },
      { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
      conditionColumn('Accepted'),
      age,
    ],
  },
  {
    kind: 'ApiProduct',
    description:
      'An API product (Apigee: an API product): the proxies, resource paths and methods that a DeveloperApp subscribed to it may call, with an optional quota. VerifyAPIKey checks keys against it.',
    plural: 'apiproducts',
    singular: 'apiproduct',
    shortNames: ['ghproduct'],
    spec: apiProductSpec,
    status: apiProductStatus,
    printerColumns: [
      { name: 'Display Name', type: 'string', jsonPath: '.spec.displayName' },
      { name: 'Approval', type: 'string', jsonPath: '.spec.approval' },
      conditionColumn('Accepted'),
      conditionColumn('ResolvedRefs'),
      age,
    ],
  },
  {
    kind: 'Developer',
    description:
      "A developer (Apigee: a developer): the owner of DeveloperApps, with an email, names, a status (active or inactive) and attributes. VerifyAPIKey refuses the keys of an inactive developer's apps and sets the developer.* variables from it; AccessEntity reads it.",
    plural: 'developers',
    singular: 'developer',
    shortNames: ['ghdev'],
    spec: developerSpec,
    status: developerStatus,
    printerColumns: [
      { name: 'Email', type: 'string', jsonPath: '.spec.email' },
      { name: 'Status', type: 'string', jsonPath: '.spec.status' },
      conditionColumn('Accepted'),
      age,
    ],
  },
  {
    kind: 'DeveloperApp',
    description:
      'A developer app (Apigee: a developer app): an API consumer with its developer, its product subscriptions and its API keys, held in Secrets of which only keyed hashes reach the data plane.',
    plural: 'developerapps',
    singular: 'developerapp',
    shortNames: ['ghapp'],
    spec: developerAppSpec,
    status: developerAppStatus,
    printerColumns: [
      { name: 'Developer', type: 'string', jsonPath: '.spec.developer.email' },
      { name: 'Developer Ref', type: 'string', jsonPath: '.spec.developerRef.name' },
      { name: 'Status', type: 'string', jsonPath: '.spec.status' },
      conditionColumn('Accepted'),
      conditionColumn('ResolvedRefs'),
      age,
    ],
  },
  {
    kind: 'DataPlane',
    description:
      'A data plane (Apigee: roughly an environment with its runtime): an Envoy fleet and an extproc fleet that the operator runs, configures over xDS and watches, with their listeners, Redis, failure mode, certificates, remediation and autoscaling.',
    plural: 'dataplanes',
    singular: 'dataplane',
    shortNames: ['ghdp'],
    spec: dataPlaneSpec,
    status: dataPlaneStatus,
    printerColumns: [
      { name: 'Region', type: 'string', jsonPath: '.spec.region' },
      { name: 'Failure Mode', type: 'string', jsonPath: '.spec.failureMode' },
      conditionColumn('Ready'),
      { name: 'Config Version', type: 'string', jsonPath: '.status.configVersion', priority: 1 },
      age,
    ],
  },
  {
    kind: 'KeyValueMap',
    description:
      'A key value map (Apigee: a KVM) of one scope (organization = this namespace, environment = a DataPlane region, apiproxy, policy) with declared entries, literal or from Secrets (encrypted maps). KeyValueMapOperations steps of the namespace read it, under what their Put and Delete changed in the store.',
    plural: 'keyvaluemaps',
    singular: 'keyvaluemap',
    shortNames: ['ghkvm'],
    spec: keyValueMapSpec,
    status: keyValueMapStatus,
    fillDefaults: true,
    printerColumns: [
      { name: 'Scope', type: 'string', jsonPath: '.spec.scope' },
      { name: 'Encrypted', type: 'boolean', jsonPath: '.spec.encrypted' },
      conditionColumn('Accepted'),
      conditionColumn('ResolvedRefs'),
      age,
    ],
  },
  {
    kind: 'SharedFlow',
    description:
      "A shared flow (Apigee: a shared flow bundle): a reusable sequence of ApiPolicy steps of its namespace, run by FlowCallout steps of the namespace's ApiProxies and SharedFlows, and by the flow hooks of a DataPlane of its namespace on every proxy that DataPlane serves.",
    plural: 'sharedflows',
    singular: 'sharedflow',
    shortNames: ['ghsf'],
    spec: sharedFlowSpec,
    status: sharedFlowStatus,
    printerColumns: [conditionColumn('Accepted'), conditionColumn('ResolvedRefs'), conditionColumn('Programmed'), age],
  },
  {
    kind: 'DebugSession',
    description:
      "A debug session (Apigee: a debug session, or trace): captures up to count transactions of one ApiProxy of its namespace that match filter, for at most timeout, masked by the DataPlane's spec.debugMask and its own mask. The operator stores what extproc captures in Secrets owned by the session; `gatehouse trace get` prints them.",
    plural: 'debugsessions',
    singular: 'debugsession',
    shortNames: ['ghtrace'],
    spec: debugSessionSpec,
    status: debugSessionStatus,
    fillDefaults: true,
    printerColumns: [
      { name: 'Proxy', type: 'string', jsonPath: '.spec.proxyRef.name' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Captured', type: 'integer', jsonPath: '.status.captured' },
      { name: 'Count', type: 'integer', jsonPath: '.spec.count' },
      { name: 'Expires', type: 'date', jsonPath: '.status.expireTime', priority: 1 },
      age,
    ],
  },
];

export const kindsByName: ReadonlyMap<string, KindSpec> = new Map(kinds.map((k) => [k.kind, k]));

export interface Resource<K extends string, S> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

export type ApiProxy = Resource<'ApiProxy', ApiProxySpec>;
export type ApiPolicy = Resource<'ApiPolicy', ApiPolicySpec>;
export type ApiProduct = Resource<'ApiProduct', ApiProductSpec>;
export type Developer = Resource<'Developer', DeveloperSpec>;
export type DeveloperApp = Resource<'DeveloperApp', DeveloperAppSpec>;
export type DataPlane = Resource<'DataPlane', DataPlaneSpec>;
export type KeyValueMap = Resource<'KeyValueMap', KeyValueMapSpec>;
export type SharedFlow = Resource<'SharedFlow', SharedFlowSpec>;
export type DebugSession = Resource<'DebugSession', DebugSessionSpec>;
export type GatehouseObject =
  ApiProxy | ApiPolicy | ApiProduct | Developer | DeveloperApp | DataPlane | KeyValueMap | SharedFlow | DebugSession;
