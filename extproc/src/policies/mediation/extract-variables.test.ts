import { describe, expect, it } from 'vitest';
import type { ExtractVariablesConfig } from '../../../../protos/policies/mediation/extract-variables.ts';
import { toPolicyFault } from '../../flow/fault-response.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { PolicyConfigError } from '../support.ts';
import { extractVariablesPolicy } from './extract-variables.ts';

const meta = { namespace: 'shop', name: 'extract' };

function run(config: ExtractVariablesConfig, opts: PolicyContextOptions = {}) {
  const ctx = makePolicyContext({
    proxy: { namespace: 'shop', name: 'orders', route: 'shop/orders', basePath: '/orders/v1' },
    ...opts,
  });
  void extractVariablesPolicy.create(config, meta)(ctx); // a synchronous policy: done, or thrown, on return
  return ctx;
}

describe('ExtractVariables', () => {
  it('extracts from the path suffix, one segment per variable, first matching pattern wins', () => {
    const config = { uriPath: ['/orders/{id}/items/{item}', '/orders/{id}'] };
    const ctx = run(config, { path: '/orders/v1/orders/42/items/7' });
    expect(ctx.variables.get('id')).toBe('42');
    expect(ctx.variables.get('item')).toBe('7');
    expect(run(config, { path: '/orders/v1/orders/42' }).variables.get('id')).toBe('42');
    expect(run(config, { path: '/orders/v1/orders/42/x' }).variables.get('id')).toBeUndefined();
  });

  it('extracts from headers, query and form parameters and variables, with a prefix', () => {
    const ctx = run(
      {
        variablePrefix: 'in',
        headers: [{ name: 'authorization', patterns: ['Bearer {token}'] }],
        queryParams: [{ name: 'range', patterns: ['{from}-{to}'] }],
        formParams: [{ name: 'user', patterns: ['{user}@{domain}'] }],
        variables: [{ name: 'client.ip', patterns: ['{a}.{b}.{c}.{d}'] }],
      },
      {
        method: 'POST',
        headers: { authorization: 'Bearer abc.def' },
        query: 'range=10-20',
        body: 'user=ann%40example.com',
        contentType: 'application/x-www-form-urlencoded',
        clientIp: '10.1.2.3',
      },
    );
    expect(ctx.variables.get('in.token')).toBe('abc.def');
    expect(ctx.variables.get('in.from')).toBe('10');
    expect(ctx.variables.get('in.to')).toBe('20');
    expect(ctx.variables.get('in.user')).toBe('ann');
    expect(ctx.variables.get('in.domain')).toBe('example.com');
    expect(ctx.variables.get('in.d')).toBe('3');
  });

  it('extracts JSONPath selections', () => {
    const ctx = run(
      {
        jsonPayload: [
          { name: 'sku', jsonPath: '$.items[0].sku' },
          { name: 'skus', jsonPath: '$.items[*].sku' },
          { name: 'first', jsonPath: '$.items[0]' },
        ],
      },
      { method: 'POST', body: { items: [{ sku: 'a' }, { sku: 'b' }] } },
    );
    expect(ctx.variables.get('sku')).toBe('a');
    expect(ctx.variables.get('skus')).toBe('["a","b"]');
    expect(ctx.variables.get('first')).toBe('{"sku":"a"}');
  });

  it('extracts XPath selections with namespaces', () => {
    const ctx = run(
      {
        xmlPayload: {
          namespaces: { o: 'urn:orders' },
          variables: [
            { name: 'id', xPath: '/o:order/@id' },
            { name: 'note', xPath: '/o:order/o:note' },
            { name: 'count', xPath: 'count(//o:note)' },
          ],
        },
      },
      {
        method: 'POST',
        body: '<order xmlns="urn:orders" id="7"><note>hi</note></order>',
        contentType: 'application/xml',
      },
    );
    expect(ctx.variables.get('id')).toBe('7');
    expect(ctx.variables.get('note')).toBe('hi');
    expect(ctx.variables.get('count')).toBe('1');
  });

  const failures: Array<[string, ExtractVariablesConfig, PolicyContextOptions, string]> = [
    [
      'an unresolved JSONPath',
      { jsonPayload: [{ name: 'x', jsonPath: '$.missing' }] },
      { method: 'POST', body: { a: 1 } },
      'steps.extractvariables.ExecutionFailed',
    ],
    [
      'invalid JSON',
      { jsonPayload: [{ name: 'x', jsonPath: '$.a' }] },
      { method: 'POST', body: '{"a":', contentType: 'application/json' },
      'steps.extractvariables.JsonPathParsingFailure',
    ],
    [
      'an unresolved XPath',
      { xmlPayload: { variables: [{ name: 'x', xPath: '/a/b' }] } },
      { method: 'POST', body: '<a/>', contentType: 'application/xml' },
      'steps.extractvariables.ExecutionFailed',
    ],
    [
      'unacceptable XML',
      { xmlPayload: { variables: [{ name: 'x', xPath: '/a' }] } },
      { method: 'POST', body: '<!DOCTYPE a><a/>', contentType: 'application/xml' },
      'steps.extractvariables.ExecutionFailed',
    ],
    [
      'a missing source response',
      { source: 'response', headers: [{ name: 'a', patterns: ['{a}'] }] },
      {},
      'steps.extractvariables.SourceMessageNotAvailable',
    ],
  ];

  it.each(failures)('faults on %s unless ignoreUnresolvedVariables', (_what, config, opts, code) => {
    const strict = extractVariablesPolicy.create(config, meta);
    expect(() => strict(makePolicyContext(opts))).toThrow(expect.objectContaining({ status: 500, errorCode: code }));
    const lenient = extractVariablesPolicy.create({ ...config, ignoreUnresolvedVariables: true }, meta);
    expect(lenient(makePolicyContext(opts))).toBeUndefined();
  });

  it('leaves variables unset when a pattern does not match', () => {
    const ctx = run(
      { headers: [{ name: 'authorization', patterns: ['Bearer {token}'] }] },
      { headers: { authorization: 'Basic x' } },
    );
    expect(ctx.variables.get('token')).toBeUndefined();
  });

  it('refuses bad patterns and expressions at create()', () => {
    expect(() => extractVariablesPolicy.create({ uriPath: ['/a/{id'] }, meta)).toThrow(PolicyConfigError);
    expect(() =>
      extractVariablesPolicy.create({ jsonPayload: [{ name: 'a', jsonPath: '$..[?(@.x)]' }] }, meta),
    ).toThrow(PolicyConfigError);
    expect(() =>
      extractVariablesPolicy.create({ xmlPayload: { variables: [{ name: 'a', xPath: '///' }] } }, meta),
    ).toThrow(PolicyConfigError);
  });
});

describe('ExtractVariables: however the content type is spelled', () => {
  const config: ExtractVariablesConfig = {
    jsonPayload: [{ name: 'sku', jsonPath: '$.sku' }],
    ignoreUnresolvedVariables: true,
  };
  const faultOf = (opts: PolicyContextOptions) => {
    try {
      run(config, { method: 'POST', ...opts });
      return 'pass';
    } catch (error) {
      const fault = toPolicyFault(error);
      return `${fault.status} ${fault.errorCode}`;
    }
  };

  it('reads form parameters whatever the case and parameters of the form type', () => {
    const ctx = run(
      { formParams: [{ name: 'user', patterns: ['{user}'] }] },
      { method: 'POST', body: 'user=ann', contentType: 'Application/X-WWW-Form-Urlencoded ; charset=utf-8' },
    );
    expect(ctx.variables.get('user')).toBe('ann');
  });

  it('refuses a payload whose Content-Type is a list, repeated or malformed, even when unresolved is ignored', () => {
    const body = '{"sku":"a"}';
    expect(faultOf({ body, contentType: 'application/json, text/plain' })).toBe('400 protocol.http.DuplicateHeader');
    expect(faultOf({ body, headers: { 'content-type': ['application/json', 'application/json'] } })).toBe(
      '400 protocol.http.DuplicateHeader',
    );
    expect(faultOf({ body, contentType: 'application/json garbage' })).toBe('400 gatehouse.InvalidContentType');
    expect(faultOf({ body, contentType: 'text/json' })).toBe('pass');
    expect(faultOf({ body })).toBe('pass');
  });

  it('refuses an ambiguous form the same way', () => {
    expect(
      (() => {
        try {
          run(
            { formParams: [{ name: 'user', patterns: ['{user}'] }] },
            { method: 'POST', body: 'user=ann', contentType: 'application/x-www-form-urlencoded, text/plain' },
          );
          return 'pass';
        } catch (error) {
          return toPolicyFault(error).errorCode;
        }
      })(),
    ).toBe('protocol.http.DuplicateHeader');
  });
});
