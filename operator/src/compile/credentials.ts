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

export function credentialHasher(key: string): { keyHex: string; hash: (value: string) => string } {
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
