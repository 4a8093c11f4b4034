import { afterEach, describe, expect, it } from 'vitest';
import type { XdsControlPlane } from './control-plane.ts';
import { typeUrls } from './protos.ts';
import { deltaClient, fakeSnapshot, startControlPlane, until } from './control-plane.test-support.ts';

const node = { id: 'delta-1', cluster: 'edge' };
const all = {
  CDS: { c1: 'a', c2: 'a' },
  EDS: { c1: 'a' },
  LDS: { l1: 'a' },
  RDS: { r1: 'a', r2: 'a' },
  runtime: { runtime: 'a' },
};
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const { controlPlane, address } = await startControlPlane();
  cleanups.push(() => controlPlane.stop());
  controlPlane.cache.set(fakeSnapshot('v1', all));
  const client = deltaClient(address);
  cleanups.push(() => client.close());
  return { cp: controlPlane, client, address };
}

const held = (r: { resources: Array<{ name: string; version: string }> }) =>
  r.resources.map((x) => `${x.name}@${x.version}`);
const status = (cp: XdsControlPlane, type: string) => cp.registry.get(node.id)?.types[type];

describe('delta (incremental) ADS', () => {
  it('sends a wildcard subscription everything, then only what changed and what went away', async () => {
    const { cp, client } = await setup();
    // Static clusters only: with EDS resources in the snapshot, a CDS-only node would not count as synced.
    const noEndpoints = { ...all, EDS: {} };
    cp.cache.set(fakeSnapshot('v1', noEndpoints));
    client.send({ node, typeUrl: typeUrls.cluster });
    const first = await client.next();
    expect(first).toMatchObject({ systemVersionInfo: 'v1', typeUrl: typeUrls.cluster, removedResources: [] });
    expect(held(first)).toEqual(['c1@a', 'c2@a']);
    client.send({ typeUrl: typeUrls.cluster, responseNonce: first.nonce });
    await until(() => status(cp, 'CDS')?.ackedVersion === 'v1');
    cp.cache.set(fakeSnapshot('v2', { ...noEndpoints, CDS: { c1: 'b', c3: 'a' } }));
    const second = await client.next();
    expect(second.nonce).not.toBe(first.nonce);
    expect(held(second)).toEqual(['c1@b', 'c3@a']);
    expect(second.removedResources).toEqual(['c2']);
    client.send({ typeUrl: typeUrls.cluster, responseNonce: second.nonce });
    await until(() => cp.registry.get(node.id)?.syncedVersion === 'v2');
  });

  it('serves names as subscribed and unsubscribed, and says when a name does not exist', async () => {
    const { client } = await setup();
    client.send({ node, typeUrl: typeUrls.route, resourceNamesSubscribe: ['r2'] });
    expect(held(await client.next())).toEqual(['r2@a']);
    client.send({ typeUrl: typeUrls.route, resourceNamesSubscribe: ['r1', 'nope'], resourceNamesUnsubscribe: ['r2'] });
    const next = await client.next();
    expect(held(next)).toEqual(['r1@a']);
    expect(next.removedResources).toEqual(['nope']);
  });

  it('skips what the node already holds (initial_resource_versions) and pushes in warming order', async () => {
    const { cp, client } = await setup();
    client.send({ node, typeUrl: typeUrls.cluster, initialResourceVersions: { c1: 'a', c2: 'a' } });
    client.send({ typeUrl: typeUrls.endpoint, resourceNamesSubscribe: ['c1'] });
    const eds = await client.next();
    expect(eds.typeUrl).toBe(typeUrls.endpoint); // CDS already current: nothing sent for it
    client.send({ typeUrl: typeUrls.endpoint, responseNonce: eds.nonce });
    client.send({ typeUrl: typeUrls.listener });
    client.send({ typeUrl: typeUrls.route, resourceNamesSubscribe: ['r1'] });
    client.send({ typeUrl: typeUrls.runtime });
    for (let i = 0; i < 3; i++) {
      const r = await client.next();
      client.send({ typeUrl: r.typeUrl, responseNonce: r.nonce });
    }
    await until(() => cp.registry.get(node.id)?.syncedVersion === 'v1');
    cp.cache.set(
      fakeSnapshot('v2', {
        CDS: { c1: 'b', c2: 'b' },
        EDS: { c1: 'b' },
        LDS: { l1: 'b' },
        RDS: { r1: 'b', r2: 'b' },
        runtime: { runtime: 'b' },
      }),
    );
    const order = [];
    for (let i = 0; i < 5; i++) order.push((await client.next()).typeUrl);
    expect(order).toEqual([typeUrls.cluster, typeUrls.endpoint, typeUrls.listener, typeUrls.route, typeUrls.runtime]);
  });

  it('records a NACK with its message, keeps the rejected version back, and ACKs the next good one', async () => {
    const { cp, client } = await setup();
    client.send({ node, typeUrl: typeUrls.runtime });
    const first = await client.next();
    client.send({ typeUrl: typeUrls.runtime, responseNonce: first.nonce });
    cp.cache.set(fakeSnapshot('v2', { ...all, runtime: { runtime: 'bad' } }));
    const bad = await client.next();
    client.send({
      typeUrl: typeUrls.runtime,
      responseNonce: bad.nonce,
      errorDetail: { code: 3, message: 'policy "x": bad config' },
    });
    await until(() => status(cp, 'runtime')?.lastNack !== undefined);
    expect(status(cp, 'runtime')).toMatchObject({
      ackedVersion: 'v1',
      lastNack: { version: 'v2', message: 'policy "x": bad config' },
    });
    cp.cache.set(fakeSnapshot('v3', { ...all, LDS: { l1: 'z' }, runtime: { runtime: 'bad' } }));
    expect(await client.quiet()).toBe(true); // not subscribed to LDS; the runtime is the rejected one
    cp.cache.set(fakeSnapshot('v4', { ...all, runtime: { runtime: 'good' } }));
    const good = await client.next();
    expect(held(good)).toEqual(['runtime@good']);
    client.send({ typeUrl: typeUrls.runtime, responseNonce: good.nonce });
    await until(() => status(cp, 'runtime')?.ackedVersion === 'v4');
    await until(() => cp.registry.get(node.id)?.syncedVersion === 'v4');
  });
});
