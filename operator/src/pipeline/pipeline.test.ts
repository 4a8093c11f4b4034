// The snapshot pipeline over both sources: a folder of real files (FolderSource) and the kube source's
// caches (a stand-in for the informers behind kubeSnapshotSource; the real ones run in e2e/operator).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeSnapshotSource, SnapshotController } from '../controllers/snapshot.ts';
import type { SourceChange, SourceKind } from '../source/kube.ts';
import { FolderSource } from '../source/watch-folder.ts';
import { SnapshotPipeline } from './pipeline.ts';
import {
  captureLog,
  manifest,
  recordingControlPlane,
  servedListeners,
  servedProxies,
  tempFolder,
  waitFor,
} from './pipeline.test-support.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function folderPipeline(files: Record<string, string>) {
  const folder = tempFolder();
  cleanups.push(folder.remove);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder.dir, name), text);
  const source = new FolderSource({ path: folder.dir, cwd: folder.dir, debounceMs: 10, pollMs: 100 });
  await source.start();
  cleanups.push(() => source.stop());
  const controlPlane = recordingControlPlane();
  const logs = captureLog();
  const pipeline = new SnapshotPipeline({ source, controlPlane, log: logs.log, debounceMs: 0 });
  pipeline.start();
  cleanups.push(() => pipeline.stop());
  /** Writes a file and waits until the pipeline has compiled what the folder holds after it. */
  const write = async (name: string, text: string) => {
    writeFileSync(join(folder.dir, name), text);
    await source.reload();
    pipeline.rebuild();
  };
  return { dir: folder.dir, source, controlPlane, logs, pipeline, write };
}

describe('SnapshotPipeline over the folder source', () => {
  it('an ApiProxy that served and turns invalid keeps serving its last accepted revision; fixed, the new one serves', async () => {
    const p = await folderPipeline({
      'orders.yaml': manifest.proxy('orders', '/orders'),
      'catalog.yaml': manifest.proxy('catalog', '/catalog'),
    });
    expect(servedProxies(p.controlPlane.last())).toEqual(['catalog:/catalog', 'orders:/orders']);

    await p.write('orders.yaml', manifest.proxy('orders', 'no-leading-slash'));
    expect(servedProxies(p.controlPlane.last())).toEqual(['catalog:/catalog', 'orders:/orders']);
    expect(p.pipeline.current()!.fallbacks).toEqual(new Set(['ApiProxy/shop/orders']));
    const error = p.logs.errors().find((l) => l.msg.includes('ApiProxy/shop/orders'));
    expect(error).toMatchObject({ file: 'orders.yaml', code: 'GH_ERR_COMPILE_INVALID', field: 'spec.basePath' });
    expect(error!.msg).toMatch(
      /^orders\.yaml: ApiProxy\/shop\/orders: spec\.basePath: .*\(its last accepted revision keeps serving\)$/,
    );

    // Another edit that is still invalid: still the last accepted one, and the error is not logged twice.
    await p.write('catalog.yaml', manifest.proxy('catalog', '/catalog/v2'));
    expect(servedProxies(p.controlPlane.last())).toEqual(['catalog:/catalog/v2', 'orders:/orders']);
    expect(p.logs.errors().filter((l) => l.msg.includes('ApiProxy/shop/orders'))).toHaveLength(1);

    await p.write('orders.yaml', manifest.proxy('orders', '/orders/v2'));
    expect(servedProxies(p.controlPlane.last())).toEqual(['catalog:/catalog/v2', 'orders:/orders/v2']);
    expect(p.pipeline.current()!.fallbacks.size).toBe(0);
  });

  it('a brand-new invalid object is left out, and says so', async () => {
    const p = await folderPipeline({ 'orders.yaml': manifest.proxy('orders', '/orders') });
    await p.write('broken.yaml', manifest.proxy('broken', 'no-leading-slash'));
    expect(servedProxies(p.controlPlane.last())).toEqual(['orders:/orders']);
    expect(p.logs.errors().find((l) => l.msg.includes('ApiProxy/shop/broken'))?.msg).toMatch(
      /\(left out; the rest ships\)$/,
    );
  });

  it('a DataPlane typo keeps every listener serving (its last accepted revision)', async () => {
    const p = await folderPipeline({
      'dataplane.yaml': manifest.dataPlane(8443),
      'orders.yaml': manifest.proxy('orders', '/orders'),
    });
    expect(servedListeners(p.controlPlane.last())).toEqual(['gw/edge/http']);
    await p.write('dataplane.yaml', manifest.dataPlane('"844e"'));
    expect(servedListeners(p.controlPlane.last())).toEqual(['gw/edge/http']);
    expect(p.logs.errors().some((l) => l.msg.includes('DataPlane/gw/edge'))).toBe(true);
  });

  it('a reference that goes away is not a change of the object: it is left out, not served from memory', async () => {
    const p = await folderPipeline({
      'orders.yaml': manifest.proxy('orders', '/orders', ', flows: {preFlow: {request: [{policy: tag}]}}'),
      'tag.yaml': `apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: tag, namespace: shop}
spec: {type: AssignMessage, assignMessage: {set: {headers: {x-tag: one}}}}
`,
    });
    expect(servedProxies(p.controlPlane.last())).toEqual(['orders:/orders']);
    await p.write('tag.yaml', '');
    expect(servedProxies(p.controlPlane.last())).toEqual([]);
    expect(p.pipeline.current()!.fallbacks.size).toBe(0);
  });

  it('logs warnings as well as errors, each once while it lasts, and again when it comes back', async () => {
    const p = await folderPipeline({ 'orders.yaml': manifest.proxy('orders', '/orders') });
    const devKey = () => p.logs.warnings().filter((l) => l.code === 'GH_WARN_DEV_CREDENTIAL_KEY');
    expect(devKey()).toHaveLength(1);
    await p.write('catalog.yaml', manifest.proxy('catalog', '/catalog'));
    expect(devKey()).toHaveLength(1);
    await p.write(
      'key.yaml',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: gatehouse-credential-hash-key, namespace: gatehouse-system}\nstringData: {key: k}\n',
    );
    await p.write('key.yaml', '');
    expect(devKey()).toHaveLength(2);
  });

  it('names an SDS secret that cannot be served, once', async () => {
    const p = await folderPipeline({
      'dataplane.yaml': `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: gw}
spec:
  region: local
  listeners: [{name: https, port: 8443, protocol: HTTPS, tls: {secretRef: {name: gw-tls}}}]
`,
      'gw-tls.yaml':
        'apiVersion: v1\nkind: Secret\nmetadata: {name: gw-tls, namespace: gw}\nstringData: {tls.crt: x, tls.key: y}\n',
    });
    await p.write('other.yaml', manifest.proxy('orders', '/orders'));
    const sds = p.logs.warnings().filter((l) => l.sds === 'tls:gw/gw-tls');
    expect(sds).toHaveLength(1);
    expect(sds[0]!.msg).toMatch(/^SDS secret not served/);
  });
});

describe('SnapshotPipeline over the kube source', () => {
  /** What kubeSnapshotSource reads of a KubeSource, over plain arrays. */
  function fakeKube() {
    const objects: Array<Record<string, unknown>> = [];
    const handlers = new Set<(c: SourceChange) => void>();
    return {
      objects: () => objects.map((object) => ({ object })),
      onChange: (h: (c: SourceChange) => void) => {
        handlers.add(h);
        return () => handlers.delete(h);
      },
      credentialHashKey: () => undefined,
      serviceEndpoints: () => ({ 'shop/orders:80': [{ host: '10.0.0.7', port: 8080 }] }),
      get: (kind: SourceKind, namespace: string, name: string) =>
        objects.find(
          (o) =>
            o.kind === kind &&
            (o.metadata as { namespace: string }).namespace === namespace &&
            (o.metadata as { name: string }).name === name,
        ) as never,
      list: objects,
      emit: (kind: SourceKind, statusOnly = false) => {
        for (const h of handlers) h({ kind, event: 'update', name: 'x', namespace: 'shop', statusOnly });
      },
    };
  }
  const proxy = (generation: number, basePath: string) => ({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiProxy',
    metadata: { name: 'orders', namespace: 'shop', generation },
    spec: { basePath, target: { service: { name: 'orders', port: 80 } } },
  });

  it('rebuilds on changes of compiled kinds only, keeps the last accepted generation, logs errors and warnings', async () => {
    const kube = fakeKube();
    kube.list.push(proxy(1, '/orders'));
    const controlPlane = recordingControlPlane();
    const logs = captureLog();
    const controller = new SnapshotController({
      source: kube,
      controlPlane,
      log: logs.log,
      compileOptions: () => ({}),
      debounceMs: 0,
    });
    controller.start();
    cleanups.push(() => controller.stop());
    expect(servedProxies(controlPlane.last())).toEqual(['orders:/orders']);
    expect(JSON.stringify(controlPlane.last()!.envoy.endpoints)).toContain('10.0.0.7');
    // Kube mode logs compile warnings too (here: no credential hash key).
    expect(logs.warnings().map((l) => l.code)).toContain('GH_WARN_DEV_CREDENTIAL_KEY');

    kube.list[0] = proxy(2, 'no-leading-slash');
    kube.emit('Pod');
    kube.emit('ApiProxy', true);
    await new Promise((r) => setTimeout(r, 50));
    expect(controlPlane.published).toHaveLength(1);

    kube.emit('ApiProxy');
    await waitFor('a rebuild', () => controlPlane.published.length === 2);
    expect(servedProxies(controlPlane.last())).toEqual(['orders:/orders']);
    expect(controller.current()!.outcomes.get('ApiProxy/shop/orders')).toMatchObject({
      generation: 2,
      servingGeneration: 1,
    });
    expect(logs.errors().find((l) => l.msg.includes('ApiProxy/shop/orders'))?.msg).toMatch(
      /\(its last accepted revision keeps serving\)$/,
    );
  });

  it('looks SDS secrets up in the Secret cache', () => {
    const kube = fakeKube();
    kube.list.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls', namespace: 'gw' }, data: {} });
    const source = kubeSnapshotSource(kube);
    expect(source.secretLookup('gw', 'tls')).toBe(kube.list[0]);
    expect(source.secretLookup('gw', 'other')).toBeUndefined();
    expect(source.diagnostics()).toEqual([]);
  });
});
