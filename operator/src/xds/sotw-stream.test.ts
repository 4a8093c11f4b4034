import { afterEach, describe, expect, it } from 'vitest';
import type { XdsControlPlane } from './control-plane.ts';
import { typeUrls } from './protos.ts';
import { fakeSnapshot, sotwClient, startControlPlane, until } from './control-plane.test-support.ts';

const node = { id: 'node-1', cluster: 'edge' };
const all = {
  CDS: { c1: 'a', c2: 'a' },
  EDS: { c1: 'a', c2: 'a' },
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
  const client = sotwClient(address);
  cleanups.push(() => client.close());
  return { cp: controlPlane, client, address };
}

const names = (r: { resources: Array<{ value: Buffer }> }) => r.resources.map((a) => a.value.toString());
const status = (cp: XdsControlPlane, type: string) => cp.registry.get(node.id)?.types[type];

/** Subscribes to every type, ACKs each first response and waits for the node to be in sync. */
async function subscribeAll(cp: XdsControlPlane, client: ReturnType<typeof sotwClient>) {
  const requests = [
    { typeUrl: typeUrls.cluster },
    { typeUrl: typeUrls.endpoint, resourceNames: ['c1', 'c2'] },
    { typeUrl: typeUrls.listener },
    { typeUrl: typeUrls.route, resourceNames: ['r1', 'r2'] },
    { typeUrl: typeUrls.runtime },
  ];
  for (const [i, req] of requests.entries()) {
    client.send({ ...req, ...(i === 0 ? { node } : {}) });
    const res = await client.next();
    client.send({ ...req, versionInfo: res.versionInfo, responseNonce: res.nonce });
  }
  await until(() => status(cp, 'runtime')?.ackedVersion === 'v1');
  expect(cp.registry.get(node.id)?.syncedVersion).toBe('v1');
}

describe('state-of-the-world ADS', () => {
  it('answers a subscription with the snapshot version and a fresh nonce, and records the ACK', async () => {
    const { cp, client } = await setup();
    client.send({ node, typeUrl: typeUrls.cluster });
    const first = await client.next();
    expect(first).toMatchObject({ versionInfo: 'v1', typeUrl: typeUrls.cluster });
    expect(names(first)).toEqual(['c1=a', 'c2=a']);
    client.send({ typeUrl: typeUrls.listener });
    const second = await client.next();
    expect(second.nonce).not.toBe(first.nonce);
    expect(status(cp, 'CDS')).toMatchObject({ sentVersion: 'v1', pending: true });
    client.send({ typeUrl: typeUrls.cluster, versionInfo: 'v1', responseNonce: first.nonce });
    await until(() => status(cp, 'CDS')?.ackedVersion === 'v1');
    expect(cp.registry.get(node.id)).toMatchObject({ cluster: 'edge', streams: 1 });
  });

  it('serves RDS and EDS by name and answers a change of names', async () => {
    const { client } = await setup();
    client.send({ node, typeUrl: typeUrls.route, resourceNames: ['r2'] });
    const first = await client.next();
    expect(names(first)).toEqual(['r2=a']);
    client.send({
      typeUrl: typeUrls.route,
      resourceNames: ['r1', 'r2', 'missing'],
      versionInfo: 'v1',
      responseNonce: first.nonce,
    });
    const second = await client.next();
    expect(second.versionInfo).toBe('v1');
    expect(names(second)).toEqual(['r1=a', 'r2=a']);
    client.send({ typeUrl: typeUrls.endpoint, resourceNames: ['c1'] });
    expect(names(await client.next())).toEqual(['c1=a']);
  });

  it('pushes a new snapshot in warming order: CDS, EDS, LDS, RDS, then the runtime', async () => {
    const { cp, client } = await setup();
    await subscribeAll(cp, client);
    const changed = Object.fromEntries(
      Object.entries(all).map(([t, m]) => [t, Object.fromEntries(Object.keys(m).map((n) => [n, 'b']))]),
    );
    cp.cache.set(fakeSnapshot('v2', changed));
    const order = [];
    for (let i = 0; i < 5; i++) order.push((await client.next()).typeUrl);
    expect(order).toEqual([typeUrls.cluster, typeUrls.endpoint, typeUrls.listener, typeUrls.route, typeUrls.runtime]);
  });

  it('does not resend what a node ACKed: only the changed type goes out', async () => {
    const { cp, client } = await setup();
    await subscribeAll(cp, client);
    cp.cache.set(fakeSnapshot('v2', { ...all, runtime: { runtime: 'b' } }));
    const res = await client.next();
    expect(res).toMatchObject({ typeUrl: typeUrls.runtime, versionInfo: 'v2' });
    expect(await client.quiet()).toBe(true);
    client.send({ typeUrl: typeUrls.runtime, versionInfo: 'v2', responseNonce: res.nonce });
    await until(() => cp.registry.get(node.id)?.syncedVersion === 'v2');
  });

  it('records a NACK with its message, does not resend it, and ACKs the next good version', async () => {
    const { cp, client } = await setup();
    await subscribeAll(cp, client);
    cp.cache.set(fakeSnapshot('v2', { ...all, runtime: { runtime: 'bad' } }));
    const bad = await client.next();
    client.send({
      typeUrl: typeUrls.runtime,
      versionInfo: 'v1',
      responseNonce: bad.nonce,
      errorDetail: { code: 3, message: 'unknown policy type "Nope"' },
    });
    await until(() => status(cp, 'runtime')?.lastNack !== undefined);
    expect(status(cp, 'runtime')).toMatchObject({
      ackedVersion: 'v1',
      pending: false,
      lastNack: { version: 'v2', message: 'unknown policy type "Nope"' },
    });
    expect(cp.registry.get(node.id)?.syncedVersion).toBe('v1');
    // Another change elsewhere: the rejected runtime is not offered again.
    cp.cache.set(fakeSnapshot('v3', { ...all, LDS: { l1: 'c' }, runtime: { runtime: 'bad' } }));
    expect((await client.next()).typeUrl).toBe(typeUrls.listener);
    expect(await client.quiet()).toBe(true);
    cp.cache.set(fakeSnapshot('v4', { ...all, LDS: { l1: 'c' }, runtime: { runtime: 'good' } }));
    const good = await client.next();
    expect(good).toMatchObject({ typeUrl: typeUrls.runtime, versionInfo: 'v4' });
    client.send({ typeUrl: typeUrls.runtime, versionInfo: 'v4', responseNonce: good.nonce });
    await until(() => status(cp, 'runtime')?.ackedVersion === 'v4');
  });

  it('ignores a request that answers a superseded nonce', async () => {
    const { cp, client } = await setup();
    client.send({ node, typeUrl: typeUrls.runtime });
    const first = await client.next();
    cp.cache.set(fakeSnapshot('v2', { ...all, runtime: { runtime: 'b' } }));
    const second = await client.next();
    client.send({ typeUrl: typeUrls.runtime, versionInfo: 'v1', responseNonce: first.nonce });
    expect(await client.quiet()).toBe(true);
    expect(status(cp, 'runtime')?.ackedVersion).toBeUndefined();
    client.send({ typeUrl: typeUrls.runtime, versionInfo: 'v2', responseNonce: second.nonce });
    await until(() => status(cp, 'runtime')?.ackedVersion === 'v2');
  });

  it('does not resend the current version to a node that reconnects with it', async () => {
    const { cp, client } = await setup();
    client.send({ node, typeUrl: typeUrls.runtime, versionInfo: 'v1' });
    expect(await client.quiet()).toBe(true);
    expect(status(cp, 'runtime')?.ackedVersion).toBe('v1');
  });

  it('forgets a node when its stream ends, and rejects a stream without a node id', async () => {
    const { cp, client, address } = await setup();
    client.send({ node, typeUrl: typeUrls.cluster });
    await client.next();
    client.close();
    await until(() => cp.registry.get(node.id) === undefined);
    const anonymous = sotwClient(address);
    cleanups.push(() => anonymous.close());
    anonymous.send({ typeUrl: typeUrls.cluster });
    expect(await anonymous.quiet()).toBe(true);
    expect(cp.registry.list()).toEqual([]);
  });

  it('is not synced on ACKed listeners alone: the routes they name must be subscribed and ACKed too', async () => {
    const { cp, client } = await setup();
    client.send({ node, typeUrl: typeUrls.listener });
    const lds = await client.next();
    client.send({ typeUrl: typeUrls.listener, versionInfo: lds.versionInfo, responseNonce: lds.nonce });
    await until(() => status(cp, 'LDS')?.ackedVersion === 'v1');
    expect(cp.registry.get(node.id)?.syncedVersion).toBeUndefined();
    client.send({ typeUrl: typeUrls.route, resourceNames: ['r1', 'r2'] });
    const rds = await client.next();
    client.send({
      typeUrl: typeUrls.route,
      resourceNames: ['r1', 'r2'],
      versionInfo: rds.versionInfo,
      responseNonce: rds.nonce,
    });
    await until(() => cp.registry.get(node.id)?.syncedVersion === 'v1');
  });

  it('answers a type it does not serve once, empty, and keeps serving the others on the same stream', async () => {
    const { cp, client } = await setup();
    const sds = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
    client.send({ node, typeUrl: sds, resourceNames: ['ca:shop/upstream-ca'] });
    const empty = await client.next();
    expect(empty).toMatchObject({ typeUrl: sds, resources: [] });
    client.send({
      typeUrl: sds,
      resourceNames: ['ca:shop/upstream-ca'],
      versionInfo: empty.versionInfo,
      responseNonce: empty.nonce,
    });
    client.send({ typeUrl: typeUrls.cluster });
    const cds = await client.next();
    expect(cds.typeUrl).toBe(typeUrls.cluster);
    expect(names(cds)).toEqual(['c1=a', 'c2=a']);
    expect(cp.registry.get(node.id)?.streams).toBe(1);
  });
});
