// The generated ext_proc codecs (protos/gen/extproc, scripts/gen-extproc-codecs.ts) read an all-ASCII
// string with one latin1Slice: they must decode every message exactly as protobufjs's own Reader does,
// and refuse what it refuses (invalid UTF-8, a length past the end) with the same errors.
import fc from 'fast-check';
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { envoy } from './gen/extproc/codecs.js';

const Request = envoy.service.ext_proc.v3.ProcessingRequest;
const HeaderValue = envoy.config.core.v3.HeaderValue;

/** What protobufjs's own BufferReader decodes (the generated decode keeps a Reader it is given). */
const reference = (bytes: Buffer) => Request.toObject(Request.decode(new protobuf.BufferReader(bytes)));
const decoded = (bytes: Buffer) => Request.toObject(Request.decode(bytes));
const outcome = (decode: () => unknown) => {
  try {
    return { value: decode() };
  } catch (err) {
    return { error: String(err) };
  }
};

/** A HeaderValue whose key is `key` as raw bytes (possibly not UTF-8), inside request headers. */
function withRawKey(key: Buffer): Buffer {
  const header = Buffer.concat([Buffer.from([0x0a, key.length]), key]);
  const map = Buffer.concat([Buffer.from([0x0a, header.length]), header]);
  const headers = Buffer.concat([Buffer.from([0x0a, map.length]), map]);
  return Buffer.concat([Buffer.from([0x12, headers.length]), headers]);
}

describe('generated ext_proc codecs: strings', () => {
  it('decodes header names and attribute strings as protobufjs does (ASCII, UTF-8, empty)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('')), fc.string()), {
          maxLength: 6,
        }),
        fc.string({ unit: 'binary' }),
        (headers, attribute) => {
          const bytes = Buffer.from(
            Request.encode(
              Request.fromObject({
                requestHeaders: {
                  headers: { headers: headers.map(([key, value]) => ({ key, rawValue: Buffer.from(value) })) },
                },
                attributes: { x: { fields: { [attribute]: { stringValue: attribute } } } },
              }),
            ).finish(),
          );
          expect(decoded(bytes)).toEqual(reference(bytes));
        },
      ),
    );
  });

  it('refuses invalid UTF-8 and a length past the end as protobufjs does; reads latin1-looking bytes as UTF-8', () => {
    for (const key of [
      Buffer.from([0x78, 0xff, 0x79]),
      Buffer.from([0xc3]),
      Buffer.from('x-é', 'utf8'),
      Buffer.from('plain-ascii'),
    ]) {
      const bytes = withRawKey(key);
      expect(outcome(() => decoded(bytes))).toEqual(outcome(() => reference(bytes)));
    }
    expect(outcome(() => decoded(withRawKey(Buffer.from([0x78, 0xff])))).error).toBeDefined();
    // A key whose length runs past the message: both throw the same RangeError.
    const truncated = Buffer.from([0x0a, 0x05, 0x61, 0x62]);
    expect(outcome(() => HeaderValue.decode(truncated))).toEqual(
      outcome(() => HeaderValue.decode(new protobuf.BufferReader(truncated))),
    );
    expect(outcome(() => HeaderValue.decode(truncated)).error).toBeDefined();
  });

  it('reads a plain Uint8Array (not a Buffer) with protobufjs own reader', () => {
    const bytes = Request.encode(
      Request.fromObject({ requestHeaders: { headers: { headers: [{ key: 'x-a', rawValue: Buffer.from('1') }] } } }),
    ).finish();
    const plain = new Uint8Array(bytes);
    expect(Request.toObject(Request.decode(plain))).toEqual(
      Request.toObject(Request.decode(new protobuf.Reader(new Uint8Array(bytes)))),
    );
  });
});

describe('generated ext_proc codecs: oneofs', () => {
  it('keeps only the last member of a oneof on the wire, as protobufjs does', () => {
    const part = (message: Record<string, unknown>) =>
      Buffer.from(Request.encode(Request.fromObject(message)).finish());
    // Two members of `request` (and of an attribute Value's `kind`) in one message: the last one wins.
    const bytes = Buffer.concat([
      part({ requestHeaders: { headers: { headers: [{ key: 'x-a', rawValue: Buffer.from('1') }] } } }),
      part({ requestBody: { body: Buffer.from('b'), endOfStream: true } }),
      part({ attributes: { a: { fields: { k: { stringValue: 's' } } } } }),
      part({ attributes: { a: { fields: { k: { numberValue: 2 } } } } }),
    ]);
    const message = Request.decode(bytes);
    expect(Request.toObject(message, { oneofs: true })).toEqual(
      Request.toObject(Request.decode(new protobuf.BufferReader(bytes)), { oneofs: true }),
    );
    expect(message.request).toBe('requestBody');
    expect(Object.hasOwn(message, 'requestHeaders')).toBe(false);
    const value = message.attributes.a!.fields!.k!;
    expect(value.kind).toBe('numberValue');
    expect(Object.hasOwn(value, 'stringValue')).toBe(false);
  });
});
