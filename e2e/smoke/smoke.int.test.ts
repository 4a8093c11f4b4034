// The environment is real: a CustomResourceDefinition and an object of it on a real kube-apiserver
// (backed by real etcd), the chart's RBAC enforced on the restricted identity, and a real Redis.
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../env/env.ts';
import { adminKubeConfig, operatorKubeConfig } from '../env/kubeconfig.ts';
import { KUBERNETES_VERSION } from '../env/testbin.ts';

const group = 'smoke.gatehouse.dev';
const crd: k8s.V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } } },
          },
        },
      },
    ],
  },
};

describe('test environment', () => {
  const admin = adminKubeConfig();
  const restricted = operatorKubeConfig();

  beforeAll(async () => {
    const ext = admin.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({ body: crd });
    for (let i = 0; i < 100; i++) {
      const got = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
      if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('CRD never became Established');
  });

  afterAll(async () => {
    await admin.makeApiClient(k8s.ApiextensionsV1Api).deleteCustomResourceDefinition({ name: crd.metadata!.name! });
  });

  it('is a real kube-apiserver of the pinned version', async () => {
    const version = await admin.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toBe(KUBERNETES_VERSION);
  });

  it('stores a custom object in etcd and reads it back', async () => {
    const objects = admin.makeApiClient(k8s.CustomObjectsApi);
    await objects.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
      body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
    });
    const read = (await objects.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
      name: 'w1',
    })) as { spec: { size: number }; metadata: { uid: string } };
    expect(read.spec.size).toBe(3);
    expect(read.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    // The schema is enforced by the apiserver, not by us.
    await expect(
      objects.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: 'default',
        plural: 'widgets',
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w2' }, spec: { size: 0 } },
      }),
    ).rejects.toThrow(/spec\.size/);
  });

  it('enforces the chart ClusterRole on the restricted identity', async () => {
    const core = restricted.makeApiClient(k8s.CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace: 'default' });
    expect(pods.items).toEqual([]);
    // The operator manages workloads and Secrets, but never Namespaces.
    const forbidden = core.createNamespace({ body: { metadata: { name: 'nope' } } });
    await expect(forbidden).rejects.toMatchObject({ code: 403 });
  });

  it('talks to a real Redis', async () => {
    const redis = new Redis(process.env[ENV.redisUrl]!, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      expect(await redis.incr('smoke:counter')).toBe(1);
      await redis.pexpire('smoke:counter', 50);
      expect(Number(await redis.pttl('smoke:counter'))).toBeGreaterThan(0);
      const info = await redis.info('server');
      expect(info).toMatch(/redis_version:\d+/);
    } finally {
      redis.disconnect();
    }
  });
});
