// Helpers of the operator suites: clients for the test environment's identities, objects applied and
// read back as the admin, ACKing xDS nodes, and waiting for an eventual state with a useful failure.
import { randomBytes } from 'node:crypto';
import { KubeRest, isNotFound, resourcePath } from '../../operator/src/kube/rest.ts';
import { credentialKeySecretName } from '../../operator/src/api/names.ts';
import { typeUrls } from '../../operator/src/xds/protos.ts';
import { sotwClient } from '../../operator/src/xds/control-plane.test-support.ts';
import { adminKubeConfig } from '../env/kubeconfig.ts';

export { adminKubeConfig, kubeconfigFrom, operatorKubeConfig } from '../env/kubeconfig.ts';
export { eventually } from '../env/eventually.ts';

const plurals: Record<string, { group?: string; version: string; resource: string }> = {
  ApiProxy: { group: 'gatehouse.dev', version: 'v1alpha1', resource: 'apiproxies' },
  ApiPolicy: { group: 'gatehouse.dev', version: 'v1alpha1', resource: 'apipolicies' },
  ApiProduct: { group: 'gatehouse.dev', version: 'v1alpha1', resource: 'apiproducts' },
  Developer: { group: 'gatehouse.dev', version: 'v1alpha1', resource: 'developers' },
  DeveloperApp: { group: 'gatehouse.dev', version: 'v1alpha1', resource: 'developerapps' },
  KeyValueMap: { group: 'gatehouse.dev', version: 'v1alpha1', resource: 'keyvaluemaps' },
  SharedFlow: { group: 'gatehouse.dev', version: 'v1alpha1', resource: 'sharedflows' },
  DataPlane: { group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes' },
  DebugSession: { group: 'gatehouse.dev', version: 'v1alpha1', resource: 'debugsessions' },
  Secret: { version: 'v1', resource: 'secrets' },
  Service: { version: 'v1', resource: 'services' },
  ConfigMap: { version: 'v1', resource: 'configmaps' },
  EndpointSlice: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' },
  Lease: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  ValidatingWebhookConfiguration: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    resource: 'validatingwebhookconfigurations',
  },
};

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    labels?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & {
    conditions?: { type: string; status: string; reason: string; message: string; observedGeneration?: number }[];
  };
  [key: string]: unknown;
}

/**
 * The credential hash key Secret the chart creates at install (gatehouse-credential-hash-key, labelled
 * gatehouse.dev/credential): without it a kube-mode operator refuses to start.
 */
export function credentialKeySecret(namespace: string, key = randomBytes(32).toString('hex')): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: credentialKeySecretName,
      namespace,
      labels: { 'gatehouse.dev/credential': 'true' },
    },
    stringData: { key },
  };
}

export function pathOf(kind: string, namespace: string | undefined, name?: string, subresource?: string): string {
  const p = plurals[kind];
  if (!p) throw new Error(`no path known for kind ${kind}`);
  return resourcePath({ ...p, namespace, name, subresource });
}

/** The admin's view of the cluster: apply, read, delete. */
export class Cluster {
  readonly rest: KubeRest;

  constructor(kc = adminKubeConfig()) {
    this.rest = new KubeRest(kc, { userAgent: 'gatehouse-e2e' });
  }

  async namespace(prefix: string): Promise<string> {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    await this.rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  }

  /** A namespace for an operator to run in, with the credential hash key Secret an install has. */
  async operatorNamespace(prefix: string): Promise<string> {
    const name = await this.namespace(prefix);
    await this.apply(credentialKeySecret(name));
    return name;
  }

  apply(object: Obj): Promise<Obj> {
    return this.rest.apply(pathOf(object.kind, object.metadata.namespace, object.metadata.name), object, {
      fieldManager: 'e2e',
      force: true,
    });
  }

  async get(kind: string, namespace: string | undefined, name: string): Promise<Obj | undefined> {
    try {
      return await this.rest.get<Obj>(pathOf(kind, namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async remove(kind: string, namespace: string | undefined, name: string): Promise<void> {
    try {
      await this.rest.delete(pathOf(kind, namespace, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export const conditionOf = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

/** True when the object's status describes its current generation and every listed condition has the wanted status. */
export function hasConditions(o: Obj | undefined, want: Record<string, string>): boolean {
  if (!o || o.status?.observedGeneration !== o.metadata.generation) return false;
  return Object.entries(want).every(([type, status]) => conditionOf(o, type)?.status === status);
}

/**
 * A data-plane node as extproc is one: subscribes to the runtime snapshot over ADS and ACKs every
 * version it gets (or NACKs when `reject` says so).
 */
export function ackingNode(
  address: string,
  id: string,
  cluster: string,
  reject?: (version: string) => string | undefined,
) {
  const client = sotwClient(address);
  const node = { id, cluster };
  let closed = false;
  let latest: { version: string; resources: unknown[] } | undefined;
  client.send({ node, typeUrl: typeUrls.runtime, resourceNames: [] });
  void (async () => {
    while (!closed) {
      const response = await client.next(60_000).catch(() => undefined);
      if (!response || closed) continue;
      const error = reject?.(response.versionInfo);
      if (error) {
        client.send({
          node,
          typeUrl: typeUrls.runtime,
          responseNonce: response.nonce,
          versionInfo: latest?.version ?? '',
          errorDetail: { code: 3, message: error },
        });
      } else {
        latest = { version: response.versionInfo, resources: response.resources };
        client.send({
          node,
          typeUrl: typeUrls.runtime,
          responseNonce: response.nonce,
          versionInfo: response.versionInfo,
        });
      }
    }
  })();
  return {
    get version() {
      return latest?.version;
    },
    close() {
      closed = true;
      client.close();
    },
  };
}

/** The path of the ValidatingWebhookConfiguration the chart installs (and the operator's RBAC names). */
export const webhookConfigurationPath =
  '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/gatehouse-validation';

/**
 * The chart's ValidatingWebhookConfiguration, but intercepting nothing (its objectSelector matches no
 * object): for tests that need the operator to keep its caBundle without their writes going through
 * the webhook. Delete it when done (it is cluster-scoped).
 */
export function inertWebhookConfiguration(): Obj {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'gatehouse-validation' },
    webhooks: [
      {
        name: 'validate.gatehouse.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Ignore',
        timeoutSeconds: 1,
        clientConfig: { url: 'https://127.0.0.1:1/validate' },
        rules: [
          {
            apiGroups: ['gatehouse.dev'],
            apiVersions: ['*'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['apiproxies'],
            scope: 'Namespaced',
          },
        ],
        objectSelector: { matchLabels: { 'gatehouse.dev/e2e-never': 'true' } },
      },
    ],
  };
}

/** Whether the configuration's caBundle is set (the operator's leader writes it). */
export async function webhookCaBundleSet(cluster: Cluster): Promise<boolean> {
  const config = await cluster.rest.get<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(
    webhookConfigurationPath,
  );
  return config.webhooks.every((w) => (w.clientConfig.caBundle ?? '') !== '');
}
