import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { credentialHasher } from './credentials.ts';

describe('credentialHasher', () => {
  it('is HMAC-SHA256 for keys of any length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), fc.string(), (key, value) => {
        expect(credentialHasher(key).hash(value)).toBe(
          createHmac('sha256', Buffer.from(key, 'utf8')).update(value, 'utf8').digest('hex'),
        );
      }),
    );
  });

  it('carries the key as hex for extproc', () => {
    expect(credentialHasher('k').keyHex).toBe('6b');
  });
});

describe('credentialHasher memo', () => {
  it('answers as the HMAC does whatever the previous hashers of any key hashed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.array(fc.constantFrom('x', 'y', 'z')))),
        (rounds) => {
          for (const [key, values] of rounds) {
            const hasher = credentialHasher(key);
            for (const value of values)
              expect(hasher.hash(value)).toBe(
                createHmac('sha256', Buffer.from(key, 'utf8')).update(value, 'utf8').digest('hex'),
              );
          }
        },
      ),
    );
  });
});
