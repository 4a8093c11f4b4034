// Keyed hashes of consumer keys and secrets: the snapshot never carries them in clear (docs/architecture.md#the-api).
// HMAC-SHA256 (RFC 2104) from two one-shot SHA-256 calls over precomputed padded keys: createHmac
// re-imports the key on every call, which dominated compile time at 10,000 apps.
import { hash } from 'node:crypto';

/** Used when no key is configured (development only; compile warns). Documented in operator/README.md. */
export const devCredentialHashKey = 'gatehouse-dev-credential-hash-key';

const blockSize = 64;

function paddedKey(key: Buffer, pad: number): Buffer {
  const block = Buffer.alloc(blockSize);
  key.copy(block);
  for (let i = 0; i < blockSize; i++) block[i]! ^= pad;
  return block;
}

export interface CredentialHasher {
  keyHex: string;
  hash: (value: string) => string;
}

function hmacHasher(key: string): CredentialHasher {
  const keyBytes = Buffer.from(key, 'utf8');
  const blockKey = keyBytes.length > blockSize ? hash('sha256', keyBytes, 'buffer') : keyBytes;
  const inner = paddedKey(blockKey, 0x36);
  const outer = paddedKey(blockKey, 0x5c);
  return {
    keyHex: keyBytes.toString('hex'),
    hash: (value) =>
      hash(
        'sha256',
        Buffer.concat([outer, hash('sha256', Buffer.concat([inner, Buffer.from(value, 'utf8')]), 'buffer')]),
        'hex',
      ),
  };
}

/**
 * The hashes of the previous hasher made for the same key: the operator recompiles every app on any
 * change, and 10,000 apps' keys and secrets were hashed again each time (docs/architecture.md
 * #the-operator-at-scale-issue-20). A hasher answers from its own hashes, then from its predecessor's,
 * so what is kept is at most what the last compile with that key hashed; a value no longer declared
 * goes with the next compile (a fallback compile, controllers/last-accepted.ts, starts from the full
 * one's). The last few keys keep theirs (a key rotation, tests with several keys). The hash does not
 * depend on any of it.
 */
const previous = new Map<string, Map<string, string>>();
const keysKept = 4;

export function credentialHasher(key: string): CredentialHasher {
  const hmac = hmacHasher(key);
  const before = previous.get(key);
  const memo = new Map<string, string>();
  previous.delete(key);
  previous.set(key, memo);
  if (previous.size > keysKept) previous.delete(previous.keys().next().value!);
  return {
    keyHex: hmac.keyHex,
    hash: (value) => {
      let h = memo.get(value);
      if (h === undefined) {
        h = before?.get(value) ?? hmac.hash(value);
        memo.set(value, h);
      }
      return h;
    },
  };
}
