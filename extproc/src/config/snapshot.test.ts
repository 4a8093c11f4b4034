import { describe, expect, it } from 'vitest';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { policy, proxy, testCatalog } from '../server/fixtures.test-support.ts';
import { decodeRuntimeSnapshot } from './decode.ts';
import { loadSnapshot, type LoadedSnapshot, type PolicyCatalog } from './snapshot.ts';

/** Three proxies; `header` is the config of the policy `b` uses, `targetUrl` a field of `c` alone. */
function runtime(version: string, { header = 'x-b', targetUrl = 'http://c.test' } = {}): RuntimeSnapshot {
  return {
    version,
    dataPlanes: [{ namespace: 'shop', name: 'eu', region: `region-${version}` }],
    proxies: [
      proxy('a', {
        policies: { add: policy('SetHeader', { name: 'x-a', value: '1' }) },
        flows: { preFlow: { request: [{ policy: 'add' }] } },
      }),
      proxy('b', {
        policies: { add: policy('SetHeader', { name: header, value: '1' }) },
        flows: { preFlow: { request: [{ policy: 'add' }] } },
      }),
      proxy('c', {
        targetUrl,
        policies: { deny: policy('Deny') },
        flows: { preFlow: { request: [{ policy: 'deny' }] } },
      }),
    ],
  };
}

const load = (snapshot: RuntimeSnapshot, previous?: LoadedSnapshot, catalog: PolicyCatalog = testCatalog) =>
  loadSnapshot(decodeRuntimeSnapshot(snapshot), catalog, previous);

describe('loadSnapshot with the previous snapshot', () => {
  it('reuses the compiled proxies whose message is unchanged', () => {
    const v1 = load(runtime('v1'));
    const v2 = load(runtime('v2', { targetUrl: 'http://c2.test' }), v1);
    expect(v2.routes.get('shop/a')).toBe(v1.routes.get('shop/a'));
    expect(v2.routes.get('shop/b')).toBe(v1.routes.get('shop/b'));
    expect(v2.routes.get('shop/c')).not.toBe(v1.routes.get('shop/c'));
    expect(v2.routes.get('shop/c')?.proxy.targetUrl).toBe('http://c2.test');
    // Snapshot-wide parts are never reused: they are read from the new snapshot.
    expect(v2.version).toBe('v2');
    expect(v2.environmentName).toBe('region-v2');
  });

  it('rebuilds a proxy whose policy config changed, and only that one', () => {
    const v1 = load(runtime('v1'));
    const v2 = load(runtime('v2', { header: 'x-changed' }), v1);
    expect(v2.routes.get('shop/b')).not.toBe(v1.routes.get('shop/b'));
    expect(v2.routes.get('shop/b')?.proxy.policies.add?.configJson).toContain('x-changed');
    expect(v2.routes.get('shop/a')).toBe(v1.routes.get('shop/a'));
    expect(v2.routes.get('shop/c')).toBe(v1.routes.get('shop/c'));
  });

  it('compiles everything again with another catalog', () => {
    const v1 = load(runtime('v1'));
    const otherCatalog: PolicyCatalog = { ...testCatalog };
    const v2 = load(runtime('v2'), v1, otherCatalog);
    for (const route of ['shop/a', 'shop/b', 'shop/c']) expect(v2.routes.get(route)).not.toBe(v1.routes.get(route));
  });

  it('still rejects a bad snapshot as a whole', () => {
    const v1 = load(runtime('v1'));
    const bad = runtime('v2');
    bad.proxies![0]!.policies!.add = policy('NoSuchType');
    expect(() => load(bad, v1)).toThrow(/NoSuchType/);
  });
});
