import { describe, expect, it } from 'vitest';
import { makePolicyContext } from './policy-context.test-support.ts';
import { createRequestMessage } from './message.ts';
import { pathSuffix, VariableLayer } from './variables.ts';

describe('flow variables', () => {
  const ctx = () =>
    makePolicyContext({
      method: 'POST',
      path: '/orders/v1/items/7',
      query: 'a=1&a=2&b=x%20y',
      headers: { 'X-Api-Key': 'k', accept: ['a', 'b'] },
      body: 'f=1&g=two',
      contentType: 'application/x-www-form-urlencoded',
      clientIp: '10.1.2.3',
      proxy: { name: 'orders', basePath: '/orders/v1', targetUrl: 'http://up:9090' },
      environmentName: 'eu-west',
      now: Date.UTC(2026, 1, 2, 3, 4, 5),
    });

  it('reads the request live', () => {
    const { variables: v, request } = ctx();
    expect(v.get('request.verb')).toBe('POST');
    expect(v.get('request.path')).toBe('/orders/v1/items/7');
    expect(v.get('request.uri')).toBe('/orders/v1/items/7?a=1&a=2&b=x%20y');
    expect(v.get('request.querystring')).toBe('a=1&a=2&b=x%20y');
    expect(v.get('request.queryparam.a')).toBe('1');
    expect(v.get('request.queryparam.b')).toBe('x y');
    expect(v.get('request.header.x-api-key')).toBe('k');
    expect(v.get('request.header.Accept.values')).toEqual(['a', 'b']);
    expect(v.get('request.header.accept.values.count')).toBe(2);
    expect(v.getString('request.header.accept.values')).toBe('a,b');
    expect(v.get('request.formparam.g')).toBe('two');
    expect(v.get('request.content')).toBe('f=1&g=two');
    expect(v.get('proxy.basepath')).toBe('/orders/v1');
    expect(v.get('proxy.pathsuffix')).toBe('/items/7');
    expect(v.get('proxy.url')).toBe('http://gateway.test/orders/v1/items/7?a=1&a=2&b=x%20y');
    expect(v.get('client.ip')).toBe('10.1.2.3');
    expect(v.get('client.cn')).toBeUndefined();
    expect(v.get('client.scheme')).toBe('http');
    expect(v.get('target.url')).toBe('http://up:9090');
    expect(v.get('apiproxy.name')).toBe('orders');
    expect(v.get('environment.name')).toBe('eu-west');
    expect(v.get('messageid')).toBe('test-message-id');
    expect(v.get('system.timestamp')).toBe(Date.UTC(2026, 1, 2, 3, 4, 5));
    expect(v.get('system.time')).toBe('Mon, 02 Feb 2026 03:04:05 GMT');
    expect(v.get('response.status.code')).toBeUndefined();
    expect(v.get('nope')).toBeUndefined();
    request.headers.set('x-api-key', 'changed');
    request.query = 'a=9';
    expect(v.get('request.header.x-api-key')).toBe('changed');
    expect(v.get('request.queryparam.a')).toBe('9');
  });

  it('writes message-backed names through to the message and keeps the rest', () => {
    const { variables: v, request } = ctx();
    v.set('request.header.x-new', 'n');
    v.set('request.verb', 'PUT');
    v.set('client_id', 'abc');
    v.set('count', 3);
    expect(request.headers.get('x-new')).toBe('n');
    expect(request.method).toBe('PUT');
    expect(v.get('client_id')).toBe('abc');
    expect(v.getString('count')).toBe('3');
  });

  it('reads the response in the response phase', () => {
    const { variables: v } = makePolicyContext({
      response: { status: 201, headers: { 'x-r': '1' }, body: { ok: true } },
    });
    expect(v.get('response.status.code')).toBe(201);
    expect(v.get('response.header.x-r')).toBe('1');
    expect(v.get('response.content')).toBe('{"ok":true}');
    expect(v.get('response.header.content-type')).toBe('application/json');
  });

  it('resolves refs and expands templates', () => {
    const { variables: v } = ctx();
    expect(v.resolve({ ref: 'request.header.x-api-key' })).toBe('k');
    expect(v.resolve(5)).toBe(5);
    expect(v.resolve(undefined)).toBeUndefined();
    expect(v.template('{apiproxy.name}/{missing}-{ not a var }{request.queryparam.b}')).toBe(
      'orders/-{ not a var }x y',
    );
  });
});

describe('a read-only variable layer (setLayer)', () => {
  const vars = () => makePolicyContext({}).variables;
  const layer = () =>
    new VariableLayer([
      ['app.name', 'mobile'],
      ['app.tier', 'gold'],
      ['verifyapikey.v.app.name', 'mobile'],
      ['verifyapikey.v.failed', false],
    ]);

  it('reads as if each name had been set, and enumerates its names', () => {
    const v = vars();
    v.setLayer(layer());
    expect(v.get('app.name')).toBe('mobile');
    expect(v.getString('verifyapikey.v.failed')).toBe('false');
    expect(v.holdsNonMessage('app.tier')).toBe(true);
    expect(v.message('app.name')).toBeUndefined();
    expect(v.template('{app.name}/{app.tier}')).toBe('mobile/gold');
    expect(v.namesUnder('app')).toEqual(['app.name', 'app.tier']);
    expect(v.namesUnder('verifyapikey.v')).toEqual(['verifyapikey.v.app.name', 'verifyapikey.v.failed']);
  });

  it('a name set after the layer wins; one set before it is overwritten, as set() per name would', () => {
    const v = vars();
    v.set('app.name', 'before');
    v.set('app.other', 'kept');
    v.setLayer(layer());
    expect(v.get('app.name')).toBe('mobile');
    expect(v.get('app.other')).toBe('kept');
    v.set('app.tier', 'silver');
    v.set('app.name', undefined);
    expect(v.get('app.tier')).toBe('silver');
    expect(v.get('app.name')).toBeUndefined();
    expect(v.namesUnder('app')).toEqual(['app.name', 'app.other', 'app.tier']);
  });

  it('a newer layer reads over an older one; remove() unsets layer names and leaves the layer itself unchanged', () => {
    const shared = layer();
    const v = vars();
    v.setLayer(shared);
    v.setLayer(new VariableLayer([['app.tier', 'platinum']]));
    expect(v.get('app.tier')).toBe('platinum');
    expect(v.get('app.name')).toBe('mobile');
    v.remove('app');
    expect(v.get('app.name')).toBeUndefined();
    expect(v.get('app.tier')).toBeUndefined();
    expect(v.namesUnder('app')).toEqual([]);
    expect(v.get('verifyapikey.v.app.name')).toBe('mobile');
    v.set('verifyapikey.v.app.name', 'mine');
    // Another exchange handed the same layer sees none of this one's writes and removes.
    const other = vars();
    other.setLayer(shared);
    expect(other.get('app.name')).toBe('mobile');
    expect(other.get('app.tier')).toBe('gold');
    expect(other.get('verifyapikey.v.app.name')).toBe('mobile');
    expect([...shared.values.keys()]).toHaveLength(4);
    expect(Object.isFrozen(shared)).toBe(true);
  });

  it('holds no message: a message is never shared between exchanges', () => {
    const message = createRequestMessage({ method: 'GET', path: '/', headers: {} });
    expect(() => new VariableLayer([['m', message]])).toThrow(/holds no message \(m\)/);
  });

  it('with a message variable whose parts a name addresses, the names are set one by one', () => {
    const v = vars();
    v.set('app', createRequestMessage({ method: 'GET', path: '/', headers: {} }));
    v.setLayer(
      new VariableLayer([
        ['app.header.x-tier', 'gold'],
        ['app.plain', 'p'],
      ]),
    );
    expect(v.message('app')?.headers.get('x-tier')).toBe('gold');
    expect(v.get('app.header.x-tier')).toBe('gold');
    expect(v.get('app.plain')).toBe('p');
  });
});

describe('pathSuffix', () => {
  it('strips the base path on a segment boundary', () => {
    expect(pathSuffix('/a/b', '/a')).toBe('/b');
    expect(pathSuffix('/a', '/a')).toBe('');
    expect(pathSuffix('/ab', '/a')).toBe('/ab');
    expect(pathSuffix('/x', '/')).toBe('/x');
  });
});
