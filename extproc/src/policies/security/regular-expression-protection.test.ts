import { describe, expect, it } from 'vitest';
import type { RegularExpressionProtectionConfig } from '../../../../protos/policies/security/regular-expression-protection.ts';
import { toPolicyFault } from '../../flow/fault-response.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { PolicyConfigError } from '../support.ts';
import { regularExpressionProtectionPolicy } from './regular-expression-protection.ts';

const meta = { namespace: 'shop', name: 'regex-guard' };
const SQL = '(?i)(\\bdrop\\s+table\\b|\\bunion\\s+select\\b)';
const SCRIPT = '(?i)<\\s*script\\b';

function outcome(config: RegularExpressionProtectionConfig, opts: PolicyContextOptions): string {
  const step = regularExpressionProtectionPolicy.create(config, meta);
  try {
    void step(makePolicyContext(opts)); // a synchronous policy: done, or thrown, on return
    return 'pass';
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyFault);
    expect((error as PolicyFault).status).toBe(400);
    return (error as PolicyFault).errorCode;
  }
}

const THREAT = 'steps.regexprotection.ThreatDetected';

describe('RegularExpressionProtection', () => {
  it('finds patterns in the URI path, percent-decoded', () => {
    const config = { uriPath: [SQL] };
    expect(outcome(config, { path: '/orders/1' })).toBe('pass');
    expect(outcome(config, { path: '/orders/1%20union%20select%20x' })).toBe(THREAT);
  });

  it('finds patterns in named query parameters, headers, form parameters and variables', () => {
    const config: RegularExpressionProtectionConfig = {
      queryParams: [{ name: 'q', patterns: [SQL] }],
      headers: [{ name: 'x-note', patterns: [SCRIPT] }],
      formParams: [{ name: 'comment', patterns: [SCRIPT] }],
      variables: [{ name: 'my.var', patterns: ['^evil$'] }],
    };
    expect(outcome(config, { query: 'q=shoes&other=drop%20table' })).toBe('pass');
    expect(outcome(config, { query: 'q=x%27%3B%20DROP%20TABLE%20users' })).toBe(THREAT);
    expect(outcome(config, { headers: { 'x-note': ['fine', '< script>alert(1)'] } })).toBe(THREAT);
    expect(
      outcome(config, {
        method: 'POST',
        body: 'comment=%3Cscript%3E',
        contentType: 'application/x-www-form-urlencoded',
      }),
    ).toBe(THREAT);
    expect(outcome(config, { method: 'POST', body: 'comment=%3Cscript%3E', contentType: 'text/plain' })).toBe('pass');
    expect(outcome(config, { variables: { 'my.var': 'evil' } })).toBe(THREAT);
    expect(outcome(config, { variables: { 'my.var': 'not evil' } })).toBe('pass');
  });

  it('finds patterns in JSONPath selections', () => {
    const config = { jsonPayload: [{ expression: '$..comment', patterns: [SCRIPT] }] };
    expect(outcome(config, { method: 'POST', body: { items: [{ comment: 'ok' }] } })).toBe('pass');
    expect(outcome(config, { method: 'POST', body: { items: [{ comment: 'ok' }, { comment: '<script>' }] } })).toBe(
      THREAT,
    );
    expect(outcome(config, { method: 'POST', body: '{"comment":', contentType: 'application/json' })).toBe(
      'steps.regexprotection.ExecutionFailed',
    );
  });

  it("scans a body once for all of a check's patterns, each keeping its own flags and anchors", () => {
    const json = (patterns: string[], value: string) =>
      outcome({ jsonPayload: [{ expression: '$.*', patterns }] }, { method: 'POST', body: { a: 'x', b: value } });
    const patterns = ['(?i)script', 'Upper', '^exact$'];
    for (const hit of ['SCRIPT', 'Upper', 'exact']) expect(json(patterns, hit), hit).toBe(THREAT);
    // (?i) stays inside its pattern; ^...$ anchor only their own.
    for (const miss of ['upper', 'inexact', 'exactly']) expect(json(patterns, miss), miss).toBe('pass');
    // Groups sharing a name cannot be one alternation: the patterns are tried one by one instead.
    const named = ['(?P<n>a)b', '(?P<n>c)d'];
    expect(json(named, 'xcd')).toBe(THREAT);
    expect(json(named, 'ad')).toBe('pass');
  });

  it('finds patterns in XPath selections, with namespaces', () => {
    const config = {
      xmlPayload: { namespaces: { o: 'urn:orders' }, xPaths: [{ expression: '/o:order/o:note', patterns: [SQL] }] },
    };
    const doc = (note: string) => `<order xmlns="urn:orders"><note>${note}</note></order>`;
    expect(outcome(config, { method: 'POST', body: doc('deliver fast'), contentType: 'application/xml' })).toBe('pass');
    expect(outcome(config, { method: 'POST', body: doc('1; drop table x'), contentType: 'application/xml' })).toBe(
      THREAT,
    );
    expect(outcome(config, { method: 'POST', body: '<!DOCTYPE a><a/>', contentType: 'application/xml' })).toBe(
      'steps.regexprotection.ExecutionFailed',
    );
  });

  it('checks the response headers in the response phase', () => {
    const config = { headers: [{ name: 'x-debug', patterns: ['.'] }] };
    expect(outcome(config, { response: { headers: { 'x-debug': 'stack trace' } } })).toBe(THREAT);
    expect(outcome(config, { headers: { 'x-debug': 'on request' }, response: {} })).toBe('pass');
  });

  it('never puts the matched value in the fault', () => {
    const step = regularExpressionProtectionPolicy.create(
      { headers: [{ name: 'authorization', patterns: ['secret'] }] },
      meta,
    );
    expect(() => step(makePolicyContext({ headers: { authorization: 'Bearer secret-token' } }))).toThrow(
      expect.objectContaining({ message: 'Regular Expression Threat Detected in regex-guard: header authorization' }),
    );
  });

  it('rejects at create() patterns RE2 cannot run in linear time and bad expressions', () => {
    expect(() => regularExpressionProtectionPolicy.create({ uriPath: ['(a)\\1'] }, meta)).toThrow(PolicyConfigError);
    expect(() => regularExpressionProtectionPolicy.create({ uriPath: ['(?=a)'] }, meta)).toThrow(PolicyConfigError);
    expect(() =>
      regularExpressionProtectionPolicy.create({ jsonPayload: [{ expression: '$.a[?(@.b)]', patterns: ['x'] }] }, meta),
    ).toThrow(PolicyConfigError);
    expect(() =>
      regularExpressionProtectionPolicy.create(
        { xmlPayload: { xPaths: [{ expression: '//[', patterns: ['x'] }] } },
        meta,
      ),
    ).toThrow(PolicyConfigError);
  });
});

describe('RegularExpressionProtection: however the content type is spelled', () => {
  const step = regularExpressionProtectionPolicy.create(
    {
      jsonPayload: [{ expression: '$..comment', patterns: [SCRIPT] }],
      xmlPayload: { xPaths: [{ expression: '//comment', patterns: [SCRIPT] }] },
      formParams: [{ name: 'comment', patterns: [SCRIPT] }],
    },
    meta,
  );
  const run = (body: string, headers: PolicyContextOptions['headers'] = {}) => {
    try {
      void step(makePolicyContext({ method: 'POST', body, headers }));
      return 'pass';
    } catch (error) {
      const fault = toPolicyFault(error);
      return `${fault.status} ${fault.errorCode}`;
    }
  };
  const json = '{"comment":"<script>"}';
  const xml = '<a><comment>&lt;script&gt;</comment></a>';
  const form = 'comment=%3Cscript%3E';
  const threat = `400 ${THREAT}`;

  it.each(['text/json', 'application/x-json', 'Application/JSON;charset=utf-8', 'application/merge-patch+json'])(
    'checks a JSON body declared %j',
    (type) => expect(run(json, { 'content-type': type })).toBe(threat),
  );

  it.each(['text/xml', 'APPLICATION/XML', 'application/soap+xml; charset=utf-8'])(
    'checks an XML body declared %j',
    (type) => expect(run(xml, { 'content-type': type })).toBe(threat),
  );

  it('checks a form whatever the case and parameters', () => {
    expect(run(form, { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' })).toBe(threat);
  });

  it('checks untyped bodies by their look', () => {
    expect(run(json)).toBe(threat);
    expect(run(xml)).toBe(threat);
    expect(run(form)).toBe('pass'); // a form is never guessed: without its type no upstream parses one
  });

  it('refuses lists, repeated and malformed Content-Types instead of skipping the payload checks', () => {
    const duplicate = '400 protocol.http.DuplicateHeader';
    expect(run(json, { 'content-type': 'text/plain, application/json' })).toBe(duplicate);
    expect(run(xml, { 'content-type': ['text/plain', 'application/xml'] })).toBe(duplicate);
    expect(run(form, { 'content-type': 'application/x-www-form-urlencoded, text/plain' })).toBe(duplicate);
    expect(run(json, { 'content-type': 'json' })).toBe('400 gatehouse.InvalidContentType');
  });
});
