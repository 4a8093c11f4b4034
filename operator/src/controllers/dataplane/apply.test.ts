// The pure parts of apply and prune: when an apply is needed, what is pruned, the calls made. The
// apiserver's side (SSA taking fields back, deletes) is proved by controller.int.test.ts.
import { describe, expect, it } from 'vitest';
import {
  applyObjects,
  containsDesired,
  DataPlaneApplyError,
  objectPath,
  objectsToPrune,
  pruneObjects,
  withDesiredHash,
  type ApplyClient,
} from './apply.ts';
import { renderDataPlane, type DataPlaneObject, type KubeObject } from './render.ts';
import { desiredHashAnnotation } from '../../api/names.ts';

const options = {
  envoyImage: 'envoy:1',
  gatehouseImage: 'gatehouse:1',
  xds: { host: 'xds', port: 18000 },
  operatorNamespace: 'gh',
};
const dp: DataPlaneObject = {
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'DataPlane',
  metadata: { name: 'eu', namespace: 'edge', uid: 'uid-1' },
  spec: {},
};

class RecordingClient implements ApplyClient {
  readonly calls: string[] = [];
  fail = new Set<string>();
  deleteStatus = new Map<string, number>();

  apply<T>(path: string, body: unknown, o: { fieldManager: string; force?: boolean }): Promise<T> {
    this.calls.push(`APPLY ${path} ${o.fieldManager} force=${o.force}`);
    if (this.fail.has(path)) return Promise.reject(new Error('admission said no'));
    const b = body as KubeObject;
    return Promise.resolve({ ...b, metadata: { ...b.metadata, resourceVersion: '2' } } as T);
  }

  delete(path: string, body?: unknown): Promise<void> {
    this.calls.push(`DELETE ${path} ${JSON.stringify((body as { preconditions?: unknown }).preconditions)}`);
    const status = this.deleteStatus.get(path);
    if (status) return Promise.reject(Object.assign(new Error(`status ${status}`), { status }));
    return Promise.resolve();
  }
}

/** What the apiserver would return: our fields plus defaults and fields of other managers. */
function asLive(o: KubeObject): KubeObject {
  const live = structuredClone(withDesiredHash(o)) as KubeObject & { spec?: Record<string, unknown> };
  live.metadata = {
    ...live.metadata,
    uid: 'x',
    resourceVersion: '1',
    annotations: { ...live.metadata.annotations, 'example.com/by-hand': 'yes' },
  };
  if (live.spec) live.spec.progressDeadlineSeconds = 600;
  return live;
}

describe('containsDesired', () => {
  it('accepts extra fields (defaults, other managers) and rejects a changed one', () => {
    expect(containsDesired({ a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'x', d: 2 }, e: 3 })).toBe(true);
    expect(containsDesired({ a: 1 }, { a: 2 })).toBe(false);
    expect(containsDesired({ a: { b: 1 } }, { a: null })).toBe(false);
    expect(containsDesired({ a: undefined }, {})).toBe(true);
  });

  it('matches lists item by item, same length', () => {
    expect(containsDesired([{ name: 'a' }], [{ name: 'a', x: 1 }])).toBe(true);
    expect(containsDesired(['a', 'b'], ['b', 'a'])).toBe(false);
    expect(containsDesired(['a'], ['a', 'b'])).toBe(false);
    expect(containsDesired({ l: [] }, { l: {} })).toBe(false);
  });
});

describe('applyObjects', () => {
  const desired = renderDataPlane(dp, options);

  it('applies everything that is not live yet, with field manager gatehouse and force', async () => {
    const client = new RecordingClient();
    const outcome = await applyObjects(client, desired, () => undefined);
    expect(client.calls).toHaveLength(desired.length);
    expect(client.calls[0]).toBe('APPLY /api/v1/namespaces/edge/serviceaccounts/eu-envoy gatehouse force=true');
    expect(client.calls).toContain('APPLY /apis/apps/v1/namespaces/edge/deployments/eu-envoy gatehouse force=true');
    expect(client.calls).toContain(
      'APPLY /apis/policy/v1/namespaces/edge/poddisruptionbudgets/eu-extproc gatehouse force=true',
    );
    expect(outcome.changed).toHaveLength(desired.length);
  });

  it('sends nothing when the live objects hold every field', async () => {
    const client = new RecordingClient();
    const live = new Map(desired.map((o) => [objectPath(o), asLive(o)]));
    const outcome = await applyObjects(client, desired, (o) => live.get(objectPath(o)));
    expect(client.calls).toEqual([]);
    expect(outcome.unchanged).toHaveLength(desired.length);
  });

  it('applies the one object that drifted', async () => {
    const client = new RecordingClient();
    const live = new Map(desired.map((o) => [objectPath(o), asLive(o)]));
    const cm = live.get('/api/v1/namespaces/edge/configmaps/eu-envoy-bootstrap')!;
    (cm.data as Record<string, string>)['bootstrap.json'] = '{}';
    await applyObjects(client, desired, (o) => live.get(objectPath(o)));
    expect(client.calls).toEqual(['APPLY /api/v1/namespaces/edge/configmaps/eu-envoy-bootstrap gatehouse force=true']);
  });

  it('applies when we stop sending a field (the hash differs though the live copy holds the rest)', async () => {
    const client = new RecordingClient();
    const live = new Map(desired.map((o) => [objectPath(o), asLive(o)]));
    const scaled = renderDataPlane({ ...dp, spec: { autoscaling: { enabled: true } } }, options);
    await applyObjects(
      client,
      scaled.filter((o) => o.kind === 'Deployment'),
      (o) => live.get(objectPath(o)),
    );
    expect(client.calls).toEqual([
      'APPLY /apis/apps/v1/namespaces/edge/deployments/eu-envoy gatehouse force=true',
      'APPLY /apis/apps/v1/namespaces/edge/deployments/eu-extproc gatehouse force=true',
    ]);
  });

  it('stamps the hash of the object without the stamp', () => {
    const stamped = withDesiredHash(desired[0]!);
    expect(stamped.metadata.annotations![desiredHashAnnotation]).toMatch(/^[0-9a-f]{64}$/);
    expect(withDesiredHash(desired[0]!).metadata.annotations).toEqual(stamped.metadata.annotations);
    expect(desired[0]!.metadata.annotations).toBeUndefined();
  });

  it('carries on past a failure and names it', async () => {
    const client = new RecordingClient();
    client.fail.add('/api/v1/namespaces/edge/services/eu-envoy');
    const error = await applyObjects(client, desired, () => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataPlaneApplyError);
    expect((error as DataPlaneApplyError).code).toBe('GH_ERR_DATAPLANE_APPLY');
    expect((error as Error).message).toContain('Service edge/eu-envoy: admission said no');
    expect(client.calls).toHaveLength(desired.length);
  });
});

describe('objectsToPrune and pruneObjects', () => {
  const autoscaled = renderDataPlane({ ...dp, spec: { autoscaling: { enabled: true } } }, options).map((o) => ({
    ...asLive(o),
    metadata: { ...asLive(o).metadata, uid: `uid-${o.kind}-${o.metadata.name}` },
  }));
  const plain = renderDataPlane(dp, options);

  it('picks only our objects that are no longer rendered', () => {
    const foreign = {
      ...autoscaled.find((o) => o.kind === 'HorizontalPodAutoscaler')!,
      metadata: {
        name: 'eu-other',
        namespace: 'edge',
        labels: { 'app.kubernetes.io/managed-by': 'gatehouse', 'gatehouse.dev/dataplane': 'eu' },
      },
    };
    const otherOwner = {
      ...foreign,
      metadata: {
        ...foreign.metadata,
        name: 'eu-other2',
        ownerReferences: [
          { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'DataPlane', name: 'eu', uid: 'old-uid', controller: true },
        ],
      },
    };
    const prune = objectsToPrune({ name: 'eu', uid: 'uid-1' }, plain, [...autoscaled, foreign, otherOwner]);
    expect(prune.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      'HorizontalPodAutoscaler eu-envoy',
      'HorizontalPodAutoscaler eu-extproc',
    ]);
  });

  it('deletes with the uid as precondition; gone or replaced objects are fine', async () => {
    const client = new RecordingClient();
    const prune = objectsToPrune({ name: 'eu', uid: 'uid-1' }, plain, autoscaled);
    client.deleteStatus.set('/apis/autoscaling/v2/namespaces/edge/horizontalpodautoscalers/eu-extproc', 404);
    expect(await pruneObjects(client, prune)).toEqual(['HorizontalPodAutoscaler edge/eu-envoy']);
    expect(client.calls[0]).toBe(
      'DELETE /apis/autoscaling/v2/namespaces/edge/horizontalpodautoscalers/eu-envoy {"uid":"uid-HorizontalPodAutoscaler-eu-envoy"}',
    );
  });
});
