// The xDS server with its main client: extproc's runtime snapshot subscription (a real ADS stream,
// the real policy catalogue). NACK path, the atomic last-good cache, starting with the control plane
// down, and converging once it is back.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRuntimeSnapshotBytes } from '../../../extproc/src/config/decode.ts';
import { cacheFileName } from '../../../extproc/src/config/snapshot-cache.ts';
import { SnapshotStore } from '../../../extproc/src/config/snapshot-store.ts';
import { XdsSnapshotSource } from '../../../extproc/src/config/xds-source.ts';
import type { Snapshot } from '../compile/compile.ts';
import { XdsControlPlane } from './control-plane.ts';
import { silentLog, startControlPlane, testSnapshot, until } from './control-plane.test-support.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cacheDir() {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-xds-cache-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function subscribe(address: string, dir: string, nodeId = 'extproc-test') {
  const store = new SnapshotStore();
  const rejected: string[] = [];
  store.onChange((e) => {
    if (e.kind === 'rejected') rejected.push(e.error.message);
  });
  const source = new XdsSnapshotSource({
    address,
    nodeId,
    cacheDir: dir,
    log: silentLog,
    initialTimeoutMs: 500,
    backoffBaseMs: 50,
    backoffMaxMs: 200,
  });
  cleanups.push(() => source.stop());
  return { store, source, rejected };
}

/** A compiled snapshot whose one policy has a type extproc does not know. */
function withUnknownPolicyType(good: Snapshot): Snapshot {
  const view = good.dataPlanes[0]!;
  const runtime = structuredClone(view.runtime) as { proxies: Array<{ policies: Record<string, { type: string }> }> };
  runtime.proxies[0]!.policies.tag!.type = 'NoSuchPolicy';
  return { ...good, version: 'bad', dataPlanes: [{ ...view, runtime }] };
}

const cachedVersion = async (dir: string) =>
  decodeRuntimeSnapshotBytes(await readFile(join(dir, cacheFileName))).version;

describe('extproc subscription over ADS', () => {
  it('applies, ACKs and caches a snapshot; NACKs a bad one with the reason and keeps serving the old', async () => {
    const { controlPlane, address } = await startControlPlane();
    cleanups.push(() => controlPlane.stop());
    const good = testSnapshot(2);
    controlPlane.publish(good);
    const dir = await cacheDir();
    const { store, source, rejected } = subscribe(address, dir);
    await source.start(store);
    expect(store.current()?.version).toBe(good.version);
    expect(source.state()).toMatchObject({ origin: 'control-plane', connected: true });
    await until(() => controlPlane.registry.get('extproc-test')?.syncedVersion === good.version);
    await source.cached();
    expect(await cachedVersion(dir)).toBe(good.version);

    controlPlane.publish(withUnknownPolicyType(good));
    await until(() => controlPlane.registry.get('extproc-test')?.types.runtime?.lastNack !== undefined);
    const runtime = controlPlane.registry.get('extproc-test')!.types.runtime!;
    expect(runtime.lastNack).toMatchObject({ version: 'bad' });
    expect(runtime.lastNack!.message).toMatch(/NoSuchPolicy/);
    expect(runtime.ackedVersion).toBe(good.version);
    expect(rejected.join()).toMatch(/NoSuchPolicy/);
    expect(store.current()?.version).toBe(good.version);
    expect(await cachedVersion(dir)).toBe(good.version);

    const fixed = testSnapshot(2, { header: 'two' });
    controlPlane.publish(fixed);
    await until(() => controlPlane.registry.get('extproc-test')?.syncedVersion === fixed.version);
    expect(store.current()?.version).toBe(fixed.version);
    await source.cached();
    expect(await cachedVersion(dir)).toBe(fixed.version);
    expect(await readdir(dir)).toEqual([cacheFileName]); // no temporary file left behind
  });

  it('starts from the cache when the control plane is down, then converges when it is back', async () => {
    // Fill a cache from a control plane, note its port, stop it.
    const first = await startControlPlane();
    const v1 = testSnapshot(1);
    first.controlPlane.publish(v1);
    const dir = await cacheDir();
    const seed = subscribe(first.address, dir, 'seed');
    await seed.source.start(seed.store);
    await seed.source.stop();
    await first.controlPlane.stop();
    expect(await cachedVersion(dir)).toBe(v1.version);

    const { store, source } = subscribe(first.address, dir);
    await source.start(store);
    expect(store.current()?.version).toBe(v1.version);
    expect(source.state()).toMatchObject({ origin: 'cache', connected: false });
    expect(source.describe()).toMatch(/from the cache .*unreachable/);

    const back = new XdsControlPlane({ log: silentLog });
    cleanups.push(() => back.stop());
    const v2 = testSnapshot(3);
    back.publish(v2);
    await back.listen({ host: '127.0.0.1', xdsPort: Number(first.address.split(':')[1]) });
    await until(() => store.current()?.version === v2.version, 5000);
    expect(source.state()).toMatchObject({ origin: 'control-plane', connected: true });
    await until(() => back.registry.get('extproc-test')?.syncedVersion === v2.version);
  });
});
