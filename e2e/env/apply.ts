// Raw JSON requests to the apiserver for the test environment: server-side apply of manifests exactly
// as written, and plain calls (TokenRequest). Raw on purpose: client-node's typed serializer knows CRD
// schemas only by its own attribute names and silently drops `enum`, `default` and every
// `x-kubernetes-*` key, and it drops unknown fields of our own kinds.
import type { IncomingHttpHeaders } from 'node:http';
import * as https from 'node:https';
import type * as k8s from '@kubernetes/client-node';
import { TestEnvRequestError } from './errors.ts';

/** REST collection of each kind the environment applies, and whether it is namespaced. */
const kinds: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {
  CustomResourceDefinition: {
    prefix: '/apis/apiextensions.k8s.io/v1',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
  ClusterRole: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: {
    prefix: '/apis/rbac.authorization.k8s.io/v1',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  Role: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  RoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  Namespace: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  Service: { prefix: '/api/v1', plural: 'services', namespaced: true },
  ConfigMap: { prefix: '/api/v1', plural: 'configmaps', namespaced: true },
  Secret: { prefix: '/api/v1', plural: 'secrets', namespaced: true },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  PodDisruptionBudget: { prefix: '/apis/policy/v1', plural: 'poddisruptionbudgets', namespaced: true },
  ApiProxy: { prefix: '/apis/gatehouse.dev/v1alpha1', plural: 'apiproxies', namespaced: true },
  ApiPolicy: { prefix: '/apis/gatehouse.dev/v1alpha1', plural: 'apipolicies', namespaced: true },
  ApiProduct: { prefix: '/apis/gatehouse.dev/v1alpha1', plural: 'apiproducts', namespaced: true },
  Developer: { prefix: '/apis/gatehouse.dev/v1alpha1', plural: 'developers', namespaced: true },
  DeveloperApp: { prefix: '/apis/gatehouse.dev/v1alpha1', plural: 'developerapps', namespaced: true },
  KeyValueMap: { prefix: '/apis/gatehouse.dev/v1alpha1', plural: 'keyvaluemaps', namespaced: true },
  SharedFlow: { prefix: '/apis/gatehouse.dev/v1alpha1', plural: 'sharedflows', namespaced: true },
  DataPlane: { prefix: '/apis/gatehouse.dev/v1alpha1', plural: 'dataplanes', namespaced: true },
  ValidatingWebhookConfiguration: {
    prefix: '/apis/admissionregistration.k8s.io/v1',
    plural: 'validatingwebhookconfigurations',
    namespaced: false,
  },
};

/** The REST path of an object (namespaced kinds default to `default`, as kubectl does). */
export function objectPath(object: k8s.KubernetesObject): string {
  const kind = kinds[object.kind ?? ''];
  if (!kind) throw new TestEnvRequestError(`the test environment cannot apply kind ${object.kind}`);
  const name = encodeURIComponent(object.metadata?.name ?? '');
  if (!kind.namespaced) return `${kind.prefix}/${kind.plural}/${name}`;
  return `${kind.prefix}/namespaces/${encodeURIComponent(object.metadata?.namespace ?? 'default')}/${kind.plural}/${name}`;
}

export interface ApplyOptions {
  /** Validate and admit, but store nothing (`dryRun=All`). */
  dryRun?: boolean;
  fieldManager?: string;
}

/**
 * Server-side apply of the objects exactly as written, so re-running against a live environment is
 * idempotent. Throws on the first object the apiserver refuses, with its answer.
 */
export async function applyManifests(
  kc: k8s.KubeConfig,
  objects: k8s.KubernetesObject[],
  options: ApplyOptions = {},
): Promise<void> {
  const query = new URLSearchParams({ fieldManager: options.fieldManager ?? 'gatehouse-testenv', force: 'true' });
  if (options.dryRun) query.set('dryRun', 'All');
  for (const object of objects) {
    const { status, body } = await kubeRequest(
      kc,
      'PATCH',
      `${objectPath(object)}?${query.toString()}`,
      object,
      'application/apply-patch+yaml',
    );
    if (status !== 200 && status !== 201) {
      throw new TestEnvRequestError(
        `applying ${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name} failed (${status}): ${body}`,
      );
    }
  }
}

/** One request with the kubeconfig's credentials; the body is sent as JSON. */
export async function kubeRequest(
  kc: k8s.KubeConfig,
  method: string,
  path: string,
  payload?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new TestEnvRequestError('the kubeconfig has no current cluster');
  const options: https.RequestOptions = {
    method,
    headers: { 'content-type': contentType, accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, server), options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', (err) => reject(new TestEnvRequestError(`${method} ${path}: ${err.message}`, err)));
    req.end(payload === undefined ? undefined : JSON.stringify(payload));
  });
}
