import { describe, expect, it } from 'vitest';
import {
  BodyParseError,
  createRequestMessage,
  createResponseMessage,
  DeferredHeaders,
  DuplicateContentTypeError,
  HeaderMap,
  jsonDepth,
  MalformedContentTypeError,
  MAX_JSON_DEPTH,
} from './message.ts';

describe('HeaderMap', () => {
  it('is case-insensitive and multi-valued, in arrival order', () => {
    const h = new HeaderMap([
      ['X-A', '1'],
      ['x-a', '2'],
      ['Accept', 'json'],
    ]);
    expect(h.get('x-A')).toBe('1');
    expect(h.getAll('X-A')).toEqual(['1', '2']);
    expect(h.has('ACCEPT')).toBe(true);
    expect(h.entries()).toEqual([
      ['x-a', ['1', '2']],
      ['accept', ['json']],
    ]);
    expect(h.changed).toBe(false);
  });

  it('records set as overwrite, add as append and remove', () => {
    const h = new HeaderMap({ a: '1', b: ['2', '3'], c: '4' });
    h.set('A', 'x');
    h.add('b', '5');
    h.remove('c');
    h.add('d', '6');
    h.add('d', '7');
    expect(h.changeList()).toEqual({
      set: [
        { name: 'a', value: 'x', append: false },
        { name: 'b', value: '5', append: true },
        { name: 'd', value: '6', append: true },
        { name: 'd', value: '7', append: true },
      ],
      remove: ['c'],
    });
  });

  it('turns remove-then-add into an overwrite and set-then-add into overwrite + append', () => {
    const h = new HeaderMap({ a: '1', b: '1' });
    h.remove('a');
    h.add('a', '2');
    h.set('b', '3');
    h.add('b', '4');
    expect(h.changeList().set).toEqual([
      { name: 'a', value: '2', append: false },
      { name: 'b', value: '3', append: false },
      { name: 'b', value: '4', append: true },
    ]);
    expect(h.changeList().remove).toEqual([]);
  });

  it("takes the server's received headers (a Map of lists) as they are and never changes that Map's lists", () => {
    const received = new Map([
      ['accept', ['a', 'b']],
      ['x-key', ['k']],
    ]);
    const h = new HeaderMap(received);
    expect(h.getAll('Accept')).toEqual(['a', 'b']);
    h.add('accept', 'c');
    h.set('x-key', 'other');
    h.remove('accept');
    h.add('accept', 'd');
    expect(h.getAll('accept')).toEqual(['d']);
    expect(h.get('x-key')).toBe('other');
    expect([...received]).toEqual([
      ['accept', ['a', 'b']],
      ['x-key', ['k']],
    ]);
    // A Map of single values is pairs, as any iterable of pairs.
    expect(new HeaderMap(new Map([['X-One', '1']])).get('x-one')).toBe('1');
  });

  it('reads deferred headers only when first asked, once, and never changes them', () => {
    const received = new Map([['accept', ['a']]]);
    let reads = 0;
    class Deferred extends DeferredHeaders {
      get values() {
        reads++;
        return received;
      }
    }
    const untouched = new HeaderMap(new Deferred());
    expect(untouched.changed).toBe(false);
    expect(untouched.changeList()).toEqual({ set: [], remove: [] });
    expect(reads).toBe(0);
    const h = new HeaderMap(new Deferred());
    expect(h.get('accept')).toBe('a');
    h.add('accept', 'b');
    h.set('x-new', '1');
    expect(h.getAll('accept')).toEqual(['a', 'b']);
    expect(reads).toBe(1);
    expect([...received]).toEqual([['accept', ['a']]]);
    // A change before any read reads them first.
    const removed = new HeaderMap(new Deferred());
    removed.remove('accept');
    expect(removed.has('accept')).toBe(false);
    expect(removed.changeList()).toEqual({ set: [], remove: ['accept'] });
    expect([...received]).toEqual([['accept', ['a']]]);
  });

  it('ignores removing a header that was never there', () => {
    const h = new HeaderMap();
    h.remove('nope');
    expect(h.changed).toBe(false);
  });
});

describe('MessageBody', () => {
  const request = (body?: string) =>
    createRequestMessage({
      method: 'POST',
      path: '/a?x=1',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : Buffer.from(body),
    });

  it('parses JSON once and caches it', () => {
    const r = request('{"a":1}');
    const first = r.body.json();
    expect(first).toEqual({ a: 1 });
    expect(r.body.json()).toBe(first);
    expect(r.body.changed).toBe(false);
  });

  it('rejects prototype poisoning and over-deep bodies with BodyParseError', () => {
    expect(() => request('{"__proto__":{"x":1}}').body.json()).toThrow(BodyParseError);
    expect(() => request('{"constructor":{"prototype":{"x":1}}}').body.json()).toThrow(BodyParseError);
    expect(() => request('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1)).body.json()).toThrow(
      BodyParseError,
    );
    expect(() => request('{bad').body.json()).toThrow(BodyParseError);
  });

  it('serialises setJson once, on read, and sets content-type', () => {
    const r = request('{}');
    r.headers.remove('content-type');
    r.body.setJson({ b: 2 });
    expect(r.body.changed).toBe(true);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.body.text()).toBe('{"b":2}');
    expect(r.body.bytes().toString()).toBe('{"b":2}');
    r.body.setText('hello', 'text/plain');
    expect(r.body.bytes().toString()).toBe('hello');
    expect(r.body.size).toBe(5);
  });

  it('knows whether Envoy sent a body', () => {
    expect(request().body.available).toBe(false);
    expect(request().body.json()).toBeUndefined();
    expect(request('').body.available).toBe(true);
  });

  it('splits the request target into path and query', () => {
    const r = request('');
    expect([r.path, r.query, r.target, r.targetChanged]).toEqual(['/a', 'x=1', '/a?x=1', false]);
    r.query = '';
    expect([r.target, r.targetChanged]).toEqual(['/a', true]);
  });
});

describe('jsonDepth', () => {
  it('skips brackets inside strings and escapes', () => {
    expect(jsonDepth('{"a":"[[[\\"{{"}')).toBe(1);
    expect(jsonDepth('[[1],[[2]]]')).toBe(3);
  });
});

describe('body kind', () => {
  const request = (headers: Array<[string, string]>, body = '{"a":1}') =>
    createRequestMessage({ method: 'POST', path: '/', headers, body: Buffer.from(body) });

  it('sees every Content-Type entry, as extproc receives them from Envoy (one entry per header line)', () => {
    // Envoy's ext_proc filter sends each header of its map as one HeaderValue; translate.ts keeps each.
    const twoEntries = request([
      ['content-type', 'text/plain'],
      ['content-type', 'application/json'],
    ]);
    expect(twoEntries.headers.getAll('content-type')).toEqual(['text/plain', 'application/json']);
    expect(() => twoEntries.body.kind()).toThrow(DuplicateContentTypeError);
    // Envoy joins a repeated inline header such as Content-Type into one value with ",".
    expect(() => request([['content-type', 'text/plain,application/json']]).body.kind()).toThrow(
      'the request Content-Type names 2 media types',
    );
  });

  it('decides by the one media type, or sniffs when there is none, and has nothing to say about an empty body', () => {
    expect(request([['content-type', 'Text/JSON; charset=utf-8']]).body.kind()).toBe('json');
    expect(request([], ' <a/>').body.kind()).toBe('xml');
    expect(request([['content-type', 'a, b']], '').body.kind()).toBeUndefined();
    expect(() => request([['content-type', 'nonsense']]).body.kind()).toThrow(MalformedContentTypeError);
    const response = createResponseMessage({
      status: 200,
      headers: { 'content-type': ['a/b', 'c/d'] },
      body: Buffer.from('x'),
    });
    expect(() => response.body.kind()).toThrow('the response Content-Type names 2 media types');
  });
});

describe('a body set with its content type', () => {
  it('leaves the message with that one Content-Type, even when it came with it twice', () => {
    const request = createRequestMessage({
      method: 'POST',
      path: '/',
      headers: [
        ['content-type', 'application/json'],
        ['content-type', 'text/plain'],
      ],
    });
    request.body.setText('{}', 'application/json');
    expect(request.headers.getAll('content-type')).toEqual(['application/json']);
    expect(request.body.kind()).toBe('json');
  });
});
