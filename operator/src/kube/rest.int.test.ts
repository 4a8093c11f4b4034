// KubeRest against a real kube-apiserver: raw JSON both ways, paged lists, server-side apply, merge
// patch, optimistic concurrency and RBAC refusals surfacing as KubeApiError with the apiserver's words.
import type * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, operatorKubeConfig } from '../../../e2e/env/kubeconfig.ts';
import { KubeMetrics } from './metrics.ts';
import { KubeApiError, KubeRest, isAlreadyExists, isConflict, isForbidden, isNotFound, resourcePath } from './rest.ts';

interface ApiProxy {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, string> };
  spec: { basePath: string; target: { url: string }; stripBasePath?: boolean };
}

describe('KubeRest on a real apiserver', () => {
  const registry = new Registry();
  const admin = new KubeRest(adminKubeConfig(), { pageSize: 2, metrics: new KubeMetrics(registry) });
  const operator = new KubeRest(operatorKubeConfig());
  const namespace = `gatehouse-rest-${Date.now().toString(36)}`;
  const proxies = resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'apiproxies', namespace });
  const proxy = (name: string) => ({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiProxy',
    metadata: { name },
    spec: { basePath: `/${name}`, target: { url: 'http://127.0.0.1:9090' } },
  });

  beforeAll(async () => {
    await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  });
  afterAll(async () => {
    // No namespace controller runs here: delete what tests elsewhere could list cluster-wide.
    await admin.delete(proxies);
    await admin.delete(`/api/v1/namespaces/${namespace}`);
  });

  it('creates, reads, patches, applies and deletes custom objects as raw JSON', async () => {
    const created = await admin.create<ApiProxy>(proxies, proxy('orders'));
    // The CRD's defaults, filled in by the apiserver, arrive as written.
    expect(created.spec).toEqual({
      basePath: '/orders',
      target: { url: 'http://127.0.0.1:9090', timeout: '30s' },
      stripBasePath: true,
    });
    expect(typeof created.metadata.creationTimestamp).toBe('string');
    const patched = await admin.mergePatch<ApiProxy>(`${proxies}/orders`, { metadata: { labels: { tier: 'gold' } } });
    expect(patched.metadata.labels).toEqual({ tier: 'gold' });
    const applied = await admin.apply<ApiProxy>(`${proxies}/applied`, proxy('applied'), {
      fieldManager: 'gatehouse-test',
    });
    expect(applied.spec.basePath).toBe('/applied');
    await expect(admin.create(proxies, proxy('orders'))).rejects.toSatisfy(isAlreadyExists);
    // A stale resourceVersion: the optimistic-concurrency conflict every controller has to handle.
    const stale = { ...created, spec: { ...created.spec, basePath: '/stale' } };
    const conflict = await admin.replace(`${proxies}/orders`, stale).catch((e: unknown) => e);
    expect(isConflict(conflict)).toBe(true);
    expect((conflict as Error).message).toMatch(/^PUT .*\/orders: 409 Conflict: .*the object has been modified/);
    await admin.delete(`${proxies}/orders`);
    const gone = await admin.get(`${proxies}/orders`).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(KubeApiError);
    expect(isNotFound(gone)).toBe(true);
    expect(await registry.metrics()).toMatch(/gatehouse_operator_kube_requests_total\{method="GET",code="404"\} 1/);
  });

  it('follows continue tokens and gives list items the kind and apiVersion watch objects carry', async () => {
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) await admin.create(proxies, proxy(name));
    const list = await admin.list<ApiProxy>(proxies);
    expect(list.items.map((p) => p.metadata.name)).toEqual(['applied', 'p1', 'p2', 'p3', 'p4', 'p5']);
    expect(list.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(list.items.every((p) => p.kind === 'ApiProxy' && p.apiVersion === 'gatehouse.dev/v1alpha1')).toBe(true);
    const services = await admin.list<k8s.KubernetesObject>('/api/v1/namespaces/default/services');
    expect(services.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes' } });
    const selected = await operator.list<ApiProxy>(proxies, { fieldSelector: 'metadata.name=p3' });
    expect(selected.items.map((p) => p.metadata.name)).toEqual(['p3']);
  });

  it("reports what the operator identity may not do as Forbidden with the apiserver's reason", async () => {
    const refused = await operator.create(proxies, proxy('nope')).catch((e: unknown) => e);
    expect(isForbidden(refused)).toBe(true);
    expect(refused).toMatchObject({ code: 'GH_ERR_KUBE_API', status: 403, reason: 'Forbidden' });
    expect((refused as Error).message).toContain('cannot create resource "apiproxies"');
  });
});
