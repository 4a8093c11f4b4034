import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { policy, proxy, testCatalog, testSnapshot } from '../server/fixtures.test-support.ts';
import {
  decodeRuntimeSnapshot,
  encodeRuntimeSnapshot,
  RuntimeSnapshotDecoder,
  SnapshotInvalidError,
} from './decode.ts';
import { loadSnapshot } from './snapshot.ts';

const type = protobuf
  .loadSync(new URL('../../../protos/gatehouse/v1/runtime.proto', import.meta.url).pathname)
  .lookupType('gatehouse.v1.RuntimeSnapshot');
const encode = (snapshot: RuntimeSnapshot) => type.encode(type.fromObject(snapshot)).finish();

const withProducts = (version: string, header = 'x-new'): RuntimeSnapshot => ({
  ...testSnapshot(version, [
    proxy('extra', {
      policies: { set: policy('SetHeader', { name: header, value: '1' }) },
      flows: { preFlow: { request: [{ policy: 'set' }] } },
    }),
  ]),
  products: [{ namespace: 'shop', name: 'gold', proxies: ['headers'], attributes: { tier: 'gold' } }],
  credentialHashKey: 'abcd',
});

describe('RuntimeSnapshotDecoder', () => {
  it('decodes the bytes to what the proto3 JSON form decodes to', () => {
    const json = withProducts('v1');
    expect(new RuntimeSnapshotDecoder().decode(encode(json))).toEqual(decodeRuntimeSnapshot(json));
  });

  it('hands out the previous object for a proxy whose bytes did not change', () => {
    const decoder = new RuntimeSnapshotDecoder();
    const v1 = decoder.decode(encode(withProducts('v1')));
    const v2 = decoder.decode(encode(withProducts('v1', 'x-changed')));
    const byRoute = (s: typeof v1) => new Map(s.proxies.map((p) => [p.route, p]));
    const [before, after] = [byRoute(v1), byRoute(v2)];
    expect(after.get('shop/deny')).toBe(before.get('shop/deny'));
    expect(after.get('shop/extra')).not.toBe(before.get('shop/extra'));
    expect(after.get('shop/extra')?.policies.set?.configJson).toContain('x-changed');

    // ... which loadSnapshot takes as unchanged.
    const loaded1 = loadSnapshot(v1, testCatalog);
    const loaded2 = loadSnapshot(v2, testCatalog, loaded1);
    expect(loaded2.routes.get('shop/deny')).toBe(loaded1.routes.get('shop/deny'));
    expect(loaded2.routes.get('shop/extra')).not.toBe(loaded1.routes.get('shop/extra'));
  });

  it('encodes a decoded snapshot back to bytes that decode to the same (what --workers hands each worker)', () => {
    const decoded = decodeRuntimeSnapshot(withProducts('v1'));
    expect(new RuntimeSnapshotDecoder().decode(encodeRuntimeSnapshot(decoded))).toEqual(decoded);
    const loaded = loadSnapshot(decoded, testCatalog);
    expect(loaded.message).toBe(decoded);
  });

  it('rejects bytes that are not a RuntimeSnapshot', () => {
    expect(() => new RuntimeSnapshotDecoder().decode(Buffer.from([0x0a, 0x10, 0x01]))).toThrow(SnapshotInvalidError);
  });
});
