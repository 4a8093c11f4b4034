// What a policy may change: exactly what the compiled ext_proc mutation rules let Envoy apply
// (operator/src/compile/envoy/ext-proc.ts); anything else throws at the policy.
import { describe, expect, it } from 'vitest';
import { RefusedChangeError } from './allowed-changes.ts';
import { createRequestMessage, createResponseMessage } from './message.ts';

const refused = (change: () => void, header: string) => {
  try {
    change();
  } catch (err) {
    expect(err).toBeInstanceOf(RefusedChangeError);
    expect((err as RefusedChangeError).header).toBe(header);
    return;
  }
  throw new Error(`the change of ${header} was not refused`);
};

describe('policy changes held to the compiled mutation rules', () => {
  const request = () =>
    createRequestMessage({ method: 'GET', path: '/a?b=1', authority: 'api', headers: { host: 'api' } });

  it('Host may be set (allow_all_routing) but never removed or appended to (Checker::isAllowed, HeaderMapImpl)', () => {
    const r = request();
    r.headers.set('Host', 'upstream.internal:8443');
    expect(r.headers.changeList().set).toEqual([{ name: 'host', value: 'upstream.internal:8443', append: false }]);
    refused(() => r.headers.remove('host'), 'host');
    refused(() => r.headers.add('host', 'b'), 'host');
    refused(() => r.headers.set('host', 'a b'), 'host');
  });

  it('x-envoy* (no dash needed) and pseudo-headers are refused; the change is not made', () => {
    const r = request();
    refused(() => r.headers.set('x-envoy-retry-on', '5xx'), 'x-envoy-retry-on');
    refused(() => r.headers.set('x-envoyfoo', '1'), 'x-envoyfoo');
    refused(() => r.headers.remove('X-Envoy-Expected-Rq-Timeout-Ms'), 'x-envoy-expected-rq-timeout-ms');
    refused(() => r.headers.set(':authority', 'x'), ':authority');
    expect(r.headers.changed).toBe(false);
  });

  it('a value with CR, LF or NUL is refused (Envoy would answer an empty 500, even fail-open)', () => {
    const r = request();
    for (const value of ['a\r\nx-injected: 1', 'a\nb', 'a\0b']) refused(() => r.headers.set('x-note', value), 'x-note');
    refused(() => r.headers.add('x-note', 'a\rb'), 'x-note');
    refused(() => r.headers.set('bad name', 'v'), '"bad name"');
    r.headers.set('x-note', 'tab\tand latin1 é are fine');
  });

  it('the verb is a token, the path starts with / and holds no space, control or #; the status is 200-999', () => {
    const r = request();
    r.method = 'PATCH';
    refused(() => (r.method = 'GET /x HTTP/1.1'), ':method');
    r.path = '/v2/items';
    refused(() => (r.path = 'v2'), ':path');
    refused(() => (r.path = '/a b'), ':path');
    refused(() => (r.path = '/a\r\nHost: evil'), ':path');
    refused(() => (r.path = '/a#frag'), ':path');
    refused(() => (r.query = 'a=1 2'), ':path');
    expect(r.target).toBe('/v2/items?b=1');
    const response = createResponseMessage({ status: 200 });
    response.status = 201;
    refused(() => (response.status = 101), ':status');
    refused(() => (response.status = 1000), ':status');
    expect(response.status).toBe(201);
  });
});
