// Each DataPlane's nodes get that DataPlane's configuration and only it (docs/architecture.md#the-operator):
// real ADS streams against the control plane serving a compiled snapshot of two DataPlanes.
import { afterEach, describe, expect, it } from 'vitest';
import { parseManifests } from '../source/folder.ts';
import { compile } from '../compile/compile.ts';
import { decodeEnvoy } from './envoy-codec.ts';
import { runtimeRoot, runtimeTypeName, typeUrls } from './protos.ts';
import { nodeDataPlane, uriSans } from './node-dataplane.ts';
import { sotwClient, startControlPlane } from './control-plane.test-support.ts';

const manifests = `
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: team-a}
spec: {region: eu-west-1, listeners: [{name: http, port: 8080}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: core, namespace: team-b}
spec: {region: us-east-1, listeners: [{name: http, port: 8080}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: orders, namespace: team-a}
spec: {basePath: /orders, target: {url: "http://127.0.0.1:9090"}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ledger, namespace: team-b}
spec: {basePath: /ledger, target: {url: "http://127.0.0.1:9091"}}
`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function served() {
  const { controlPlane, address } = await startControlPlane();
  cleanups.push(() => controlPlane.stop());
  const { objects } = parseManifests(manifests, 'views.yaml');
  const result = compile(objects, { credentialHashKey: 'k' });
  expect(result.errors).toEqual([]);
  controlPlane.publish(result.snapshot);
  return { controlPlane, address, snapshot: result.snapshot };
}

/** A type the server does not serve: it answers it at once, empty, after whatever it sends before. */
const ping = 'type.googleapis.com/gatehouse.test.Ping';

/** What a node of `cluster` is sent of `type` (first response), decoded to names; undefined: nothing. */
async function names(address: string, cluster: string, type: string): Promise<string[] | undefined> {
  const client = sotwClient(address);
  cleanups.push(() => client.close());
  client.send({ node: { id: `n-${cluster}-${type}`, cluster }, typeUrl: type });
  // Requests are answered in order: the ping's answer coming first means `type` got nothing.
  client.send({ typeUrl: ping });
  const res = await client.next();
  if (res.typeUrl === ping) return undefined;
  return res.resources.map((r) => {
    if (type === typeUrls.runtime) {
      const runtime = runtimeRoot().lookupType(runtimeTypeName).decode(r.value) as unknown as {
        proxies: { route: string }[];
        dataPlanes: { region: string }[];
      };
      return `${runtime.proxies.map((p) => p.route).join(',')}@${runtime.dataPlanes.map((d) => d.region).join(',')}`;
    }
    const typeName =
      type === typeUrls.listener ? 'envoy.config.listener.v3.Listener' : 'envoy.config.cluster.v3.Cluster';
    return (decodeEnvoy(typeName, r.value) as { name: string }).name;
  });
}

describe('per-DataPlane views over ADS', () => {
  it("serves each DataPlane's node its listeners, clusters, proxies and region, and nothing of the other's", async () => {
    const { address } = await served();
    expect(await names(address, 'team-a/edge/envoy', typeUrls.listener)).toEqual(['team-a/edge/http']);
    expect(await names(address, 'team-a/edge/envoy', typeUrls.cluster)).toEqual([
      'gatehouse-extproc/team-a/edge',
      'team-a/orders',
    ]);
    expect(await names(address, 'team-a/edge/extproc', typeUrls.runtime)).toEqual(['team-a/orders@eu-west-1']);
    expect(await names(address, 'team-b/core/envoy', typeUrls.listener)).toEqual(['team-b/core/http']);
    expect(await names(address, 'team-b/core/extproc', typeUrls.runtime)).toEqual(['team-b/ledger@us-east-1']);
  });

  it('serves nothing to a node of an unknown DataPlane, or of none while there are two', async () => {
    const { address, controlPlane } = await served();
    expect(await names(address, 'team-c/gone/envoy', typeUrls.listener)).toBeUndefined();
    expect(await names(address, 'gatehouse-devproxy', typeUrls.listener)).toBeUndefined();
    // Both are connected (and listed), they are just served nothing.
    expect(controlPlane.registry.list().map((n) => n.cluster)).toEqual(
      expect.arrayContaining(['team-c/gone/envoy', 'gatehouse-devproxy']),
    );
  });
});

describe('nodeDataPlane: the certificate identity decides', () => {
  const edge = 'spiffe://gatehouse/ns/team-a/dataplane/edge/envoy';

  it('reads URI SANs out of a subjectaltname', () => {
    expect(uriSans(`DNS:edge-envoy.team-a.svc, URI:${edge}, IP Address:127.0.0.1`)).toEqual([edge]);
    expect(uriSans(undefined)).toEqual([]);
  });

  it("serves the certificate's own DataPlane and component only", () => {
    expect(nodeDataPlane('team-a/edge/envoy', [edge], true)).toEqual({ dataPlane: 'team-a/edge' });
    expect(nodeDataPlane('team-b/core/envoy', [edge], true)).toMatchObject({
      refused: expect.stringContaining('team-b/core/envoy') as unknown,
    });
    expect(nodeDataPlane('team-a/edge/extproc', [edge], false)).toHaveProperty('refused');
    expect(nodeDataPlane('gatehouse-devproxy', [edge], false)).toHaveProperty('refused');
    // Another trust domain is no identity at all.
    expect(
      nodeDataPlane('team-a/edge/envoy', ['spiffe://elsewhere/ns/team-a/dataplane/edge/envoy'], true),
    ).toHaveProperty('refused');
  });

  it('without a certificate identity: node.cluster decides, unless one is required', () => {
    expect(nodeDataPlane('team-a/edge/envoy', undefined, false)).toEqual({ dataPlane: 'team-a/edge' });
    expect(nodeDataPlane('gatehouse-devproxy', [], false)).toEqual({ dataPlane: undefined });
    expect(nodeDataPlane('team-a/edge/envoy', [], true)).toHaveProperty('refused');
  });
});
