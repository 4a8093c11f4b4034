// What extproc sends Envoy, checked against how Envoy v1.36 applies it (devproxy's
// MutationUtils::applyHeaderMutations), and what it reads from Envoy's attributes.
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyHeaderMutations } from '../../../devproxy/src/ext-proc/header-mutation.ts';
import { Checker } from '../../../devproxy/src/ext-proc/mutation-rules.ts';
import type { HeaderMutation__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/HeaderMutation.ts';
import { HeaderMap } from '../flow/message.ts';
import { headerBytes, headerMutation, headerText, receiveHeaders, stripPort } from './translate.ts';

/** A HeaderMutation as it arrives at Envoy (every field present, as decoded). */
function onTheWire(m: NonNullable<ReturnType<typeof headerMutation>>): HeaderMutation__Output {
  return {
    removeHeaders: m.removeHeaders ?? [],
    setHeaders: (m.setHeaders ?? []).map((o) => ({
      header: { key: o.header!.key!, value: '', rawValue: Buffer.from(o.header!.rawValue as Buffer) },
      append: o.append ? { value: Boolean(o.append.value) } : null,
      appendAction: 'APPEND_IF_EXISTS_OR_ADD',
      keepEmptyValue: false,
    })),
  };
}

describe('headerMutation', () => {
  it('sets the append flag Envoy reads, so every value of a multi-value header survives', () => {
    const headers = new HeaderMap([
      ['set-cookie', 'old=1'],
      ['vary', 'accept'],
    ]);
    headers.set('set-cookie', 'a=1');
    headers.add('set-cookie', 'b=2');
    headers.add('vary', 'origin');
    const mutation = headerMutation(headers.changeList(), [], false)!;
    expect(mutation.setHeaders!.map((o) => [o.header!.key, o.append])).toEqual([
      ['set-cookie', { value: false }],
      ['set-cookie', { value: true }],
      ['vary', { value: true }],
    ]);
    const applied = applyHeaderMutations(
      [
        ['set-cookie', 'old=1'],
        ['vary', 'accept'],
      ],
      onTheWire(mutation),
      { checker: new Checker(), rejected: [] },
    );
    expect(applied.headers).toEqual([
      ['vary', 'accept'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['vary', 'origin'],
    ]);
  });
});

describe('stripPort', () => {
  it('reads the address Envoy prints for an IPv6 peer, [ip]:port, and IPv4 ip:port', () => {
    expect(stripPort('[::1]:5678')).toBe('::1');
    expect(stripPort('[2001:db8::7]:443')).toBe('2001:db8::7');
    expect(stripPort('10.0.0.1:5678')).toBe('10.0.0.1');
    expect(stripPort('2001:db8::7')).toBe('2001:db8::7');
  });
});

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
        { key: 'X-Plain', value: 'w', rawValue: Buffer.alloc(0) },
      ],
    });
    expect(received.first('x-plain')).toBe('v');
    expect(received.first('x-absent')).toBeUndefined();
    expect(received.first('x-key')).toBe('ключ'); // names compared in lower case, values read one by one
    expect([...received.values]).toEqual([
      ['x-key', ['ключ']],
      ['x-plain', ['v', 'w']],
    ]);
    expect(received.pseudo.get(':path')).toBe('/a');
    expect(received.first('x-plain')).toBe('v');
  });
});
