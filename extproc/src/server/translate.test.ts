import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerBytes, headerText, receiveHeaders } from './translate.ts';

describe('header values between Envoy bytes and flow text', () => {
  it('give back exactly the bytes Envoy sent for every value that is valid UTF-8, and keep every byte of others', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 32 }).map((s) => Buffer.from(s, 'utf8')),
          fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        ),
        (bytes) => {
          if (isUtf8(bytes)) expect(headerBytes(headerText(bytes)).equals(bytes)).toBe(true);
          else expect(headerText(bytes)).toBe(bytes.toString('latin1'));
        },
      ),
    );
  });

  it('read UTF-8 as the text it encodes, and any other byte as one character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 32 }), (text) => {
        expect(headerText(Buffer.from(text, 'utf8'))).toBe(text);
      }),
    );
    expect(headerText(Buffer.from([0x63, 0x6c, 0xe9]))).toBe('clé');
  });

  it('decode raw_value, and fall back to value when Envoy sent no raw_value', () => {
    const received = receiveHeaders({
      headers: [
        { key: 'X-Key', value: '', rawValue: Buffer.from('ключ', 'utf8') },
        { key: 'x-plain', value: 'v', rawValue: Buffer.alloc(0) },
        { key: ':path', value: '', rawValue: Buffer.from('/a', 'utf8') },
      ],
    });
    expect(received.headers).toEqual([
      ['x-key', 'ключ'],
      ['x-plain', 'v'],
    ]);
    expect(received.pseudo.get(':path')).toBe('/a');
  });
});
