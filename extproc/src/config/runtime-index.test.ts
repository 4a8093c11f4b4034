// findApiKey's memory of keys that matched (docs/architecture.md#the-hot-path): the same answers as
// findCredential(hashCredential(key)), bounded, never a wrong key, and gone with the snapshot.
import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { decodeRuntimeSnapshot } from './decode.ts';
import { MAX_KNOWN_KEYS, SnapshotRuntimeIndex } from './runtime-index.ts';

const HASH_KEY = '00112233445566778899aabbccddeeff';
const hash = (key: string) => createHmac('sha256', Buffer.from(HASH_KEY, 'hex')).update(key).digest('hex');

function index(keys: Array<{ key: string; namespace?: string; status?: string }>) {
  return new SnapshotRuntimeIndex(
    decodeRuntimeSnapshot({
      credentialHashKey: HASH_KEY,
      apps: keys.map(({ key, namespace = 'shop', status = 'Approved' }, i) => ({
        namespace,
        name: `app-${i}`,
        developerEmail: 'dev@example.com',
        status: 'Approved',
        credentials: [{ keyHash: hash(key), status }],
      })),
    }),
  );
}

describe('SnapshotRuntimeIndex.findApiKey', () => {
  it('answers as findCredential(hashCredential(key)) does, the first time and after', () => {
    const runtime = index([
      { key: 'k-shop' },
      { key: 'k-bank', namespace: 'bank' },
      { key: 'k-off', status: 'Revoked' },
    ]);
    for (const key of ['k-shop', 'k-bank', 'k-off', 'unknown', '', 'K-SHOP']) {
      const expected = runtime.findCredential(runtime.hashCredential(key));
      expect(runtime.findApiKey(key)).toBe(expected);
      expect(runtime.findApiKey(key)).toBe(expected);
    }
    expect(runtime.findApiKey('k-bank')?.app.namespace).toBe('bank');
    // A revoked credential is still found: its status is the policy's to check on every request.
    expect(runtime.findApiKey('k-off')?.credential.status).toBe('Revoked');
  });

  it('hashes a matched key once, and a wrong key every time (wrong keys are never remembered)', () => {
    const runtime = index([{ key: 'k-shop' }]);
    const hmac = vi.spyOn(runtime, 'hashCredential');
    for (let i = 0; i < 5; i++) runtime.findApiKey('k-shop');
    expect(hmac).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 5; i++) expect(runtime.findApiKey('guess')).toBeUndefined();
    expect(hmac).toHaveBeenCalledTimes(6);
  });

  it('remembers at most MAX_KNOWN_KEYS keys, dropping the oldest, and none past 256 characters', () => {
    const keys = Array.from({ length: MAX_KNOWN_KEYS + 1 }, (_, i) => ({ key: `key-${i}` }));
    const long = 'x'.repeat(257);
    const runtime = index([...keys, { key: long }]);
    const hmac = vi.spyOn(runtime, 'hashCredential');
    for (const { key } of keys) expect(runtime.findApiKey(key)).toBeDefined();
    expect(hmac).toHaveBeenCalledTimes(MAX_KNOWN_KEYS + 1);
    expect(runtime.findApiKey(`key-${MAX_KNOWN_KEYS}`)).toBeDefined(); // newest: remembered
    expect(hmac).toHaveBeenCalledTimes(MAX_KNOWN_KEYS + 1);
    expect(runtime.findApiKey('key-0')).toBeDefined(); // oldest: dropped, hashed again
    expect(hmac).toHaveBeenCalledTimes(MAX_KNOWN_KEYS + 2);
    runtime.findApiKey(long);
    runtime.findApiKey(long);
    expect(hmac).toHaveBeenCalledTimes(MAX_KNOWN_KEYS + 4);
  });

  it('lives with its snapshot: a key revoked by the next snapshot is not found there', () => {
    const before = index([{ key: 'k-shop' }]);
    expect(before.findApiKey('k-shop')).toBeDefined();
    const after = index([{ key: 'k-other' }]);
    expect(after.findApiKey('k-shop')).toBeUndefined();
  });
});
