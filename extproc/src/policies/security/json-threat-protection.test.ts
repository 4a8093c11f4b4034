import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JSONThreatProtectionConfig } from '../../../../protos/policies/security/json-threat-protection.ts';
import { toPolicyFault } from '../../flow/fault-response.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { checkJson, jsonThreatProtectionPolicy } from './json-threat-protection.ts';

/** A threat fault as `<error code> <kind>`: Apigee's one code, and the kind its faultstring names first. */
function threatOutcome(fault: PolicyFault): string {
  const kind = /reason: (\w+):/.exec(fault.message)?.[1];
  return kind ? `${fault.errorCode} ${kind}` : fault.errorCode;
}

const design4a: JSONThreatProtectionConfig = {
  containerDepth: 10,
  arrayElementCount: 100,
  objectEntryCount: 50,
  objectEntryNameLength: 64,
  stringValueLength: 1024,
};

/** The error code the policy raises for `body`, or "pass". */
function outcome(
  body: string,
  config: JSONThreatProtectionConfig = design4a,
  contentType = 'application/json',
): string {
  const step = jsonThreatProtectionPolicy.create(config, { namespace: 'shop', name: 'json-guard' });
  const ctx = makePolicyContext({ method: 'POST', body, contentType });
  try {
    void step(ctx); // a synchronous policy: done, or thrown, on return
    return 'pass';
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyFault);
    expect((error as PolicyFault).status).toBe(400);
    return threatOutcome(error as PolicyFault);
  }
}

const unlimited = {
  containerDepth: Infinity,
  arrayElementCount: Infinity,
  objectEntryCount: Infinity,
  objectEntryNameLength: Infinity,
  stringValueLength: Infinity,
};

function scannerAccepts(text: string): boolean {
  try {
    checkJson(text, unlimited, 'p');
    return true;
  } catch {
    return false;
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('JSONThreatProtection', () => {
  it('passes a body within every limit', () => {
    expect(outcome('{"order":{"items":[1,2,{"sku":"a\\u00e9"}],"note":null,"paid":true,"total":-1.5e3}}')).toBe('pass');
    expect(outcome('  []  ')).toBe('pass');
    expect(outcome('"just a string"')).toBe('pass');
  });

  it.each([
    ['containerDepth', '[[[[[[[[[[[1]]]]]]]]]]]', 'steps.jsonthreatprotection.ExecutionFailed ContainerDepthExceeded'],
    [
      'arrayElementCount',
      `[${Array(101).fill(0).join(',')}]`,
      'steps.jsonthreatprotection.ExecutionFailed ArrayElementCountExceeded',
    ],
    [
      'objectEntryCount',
      `{${Array.from({ length: 51 }, (_, i) => `"k${i}":1`).join(',')}}`,
      'steps.jsonthreatprotection.ExecutionFailed ObjectEntryCountExceeded',
    ],
    [
      'objectEntryNameLength',
      `{"${'k'.repeat(65)}":1}`,
      'steps.jsonthreatprotection.ExecutionFailed ObjectEntryNameLengthExceeded',
    ],
    [
      'stringValueLength',
      `{"k":"${'v'.repeat(1025)}"}`,
      'steps.jsonthreatprotection.ExecutionFailed StringValueLengthExceeded',
    ],
    ['invalid JSON', '{"a":1,}', 'steps.jsonthreatprotection.ExecutionFailed ExecutionFailed'],
  ])('rejects a body over %s', (_limit, body, code) => {
    expect(outcome(body)).toBe(code);
  });

  it('accepts bodies exactly at each limit', () => {
    expect(outcome('[[[[[[[[[[1]]]]]]]]]]')).toBe('pass');
    expect(outcome(`[${Array(100).fill(0).join(',')}]`)).toBe('pass');
    expect(outcome(`{"${'k'.repeat(64)}":"${'v'.repeat(1024)}"}`)).toBe('pass');
  });

  it('counts an escape sequence as one character', () => {
    expect(outcome(`{"k":"${'\\n'.repeat(1024)}"}`)).toBe('pass');
  });

  it('checks only JSON content types', () => {
    const bomb = '['.repeat(100);
    expect(outcome(bomb, design4a, 'application/problem+json')).toBe(
      'steps.jsonthreatprotection.ExecutionFailed ContainerDepthExceeded',
    );
    expect(outcome(bomb, design4a, 'application/json; charset=utf-8')).toBe(
      'steps.jsonthreatprotection.ExecutionFailed ContainerDepthExceeded',
    );
    expect(outcome(bomb, design4a, 'text/plain')).toBe('pass');
    expect(outcome(bomb, design4a, 'application/xml')).toBe('pass');
  });

  it('enforces no limit that is not configured', () => {
    expect(outcome(`[${Array(1000).fill('"x"').join(',')}]`, { containerDepth: 2 })).toBe('pass');
  });

  it('checks the response in the response phase', () => {
    const step = jsonThreatProtectionPolicy.create({ containerDepth: 1 }, { namespace: 'shop', name: 'g' });
    const ctx = makePolicyContext({ response: { status: 200, body: { a: { b: 1 } } } });
    expect(() => step(ctx)).toThrow(
      expect.objectContaining({ errorCode: 'steps.jsonthreatprotection.ExecutionFailed' }),
    );
  });

  it.each([
    '',
    '{',
    '[1 2]',
    '{"a" 1}',
    '{a:1}',
    "{'a':1}",
    '[01]',
    '[1.]',
    '[-]',
    '[tru]',
    '"\\x"',
    '"\u0001"',
    '[1]]',
    'nul',
    '{"a":1 "b":2}',
    '[,1]',
  ])('rejects malformed JSON %j as ExecutionFailed', (text) => {
    expect(scannerAccepts(text)).toBe(false);
  });

  it('agrees with JSON.parse on what is valid JSON', () => {
    fc.assert(fc.property(fc.json(), (text) => scannerAccepts(text)));
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'{}[],:"\\ 0123-.eEtrufalsn'.split('')) }), (text) => {
        expect(scannerAccepts(text)).toBe(parses(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('JSONThreatProtection: however the content type is spelled', () => {
  const bomb = '['.repeat(100);
  const guard = jsonThreatProtectionPolicy.create(design4a, { namespace: 'shop', name: 'json-guard' });
  /** "pass", or "<status> <error code>" of the fault the engine would answer. */
  const run = (opts: PolicyContextOptions) => {
    try {
      void guard(makePolicyContext({ method: 'POST', body: bomb, ...opts }));
      return 'pass';
    } catch (error) {
      const fault = toPolicyFault(error);
      return `${fault.status} ${threatOutcome(fault)}`;
    }
  };
  const checked = '400 steps.jsonthreatprotection.ExecutionFailed ContainerDepthExceeded';

  it.each([
    'application/json',
    'text/json',
    'application/x-json',
    'APPLICATION/JSON',
    'Application/Json; Charset=UTF-8',
    '  application/json ;charset="utf-8"  ',
    'application/vnd.api+json',
    'application/problem+json; profile="x,y"',
    'text/anything+JSON',
  ])('checks a body declared %j', (contentType) => {
    expect(run({ contentType })).toBe(checked);
  });

  it('checks a body without a Content-Type (or an empty one) that looks like JSON, and passes one that does not', () => {
    expect(run({})).toBe(checked);
    expect(run({ headers: { 'content-type': '' } })).toBe(checked);
    expect(run({ body: `  \r\n{"a":${bomb}}` })).toBe(checked);
    expect(run({ body: 'just text' })).toBe('pass');
    expect(run({ body: '{not json' })).toBe('400 steps.jsonthreatprotection.ExecutionFailed ExecutionFailed');
  });

  it('refuses a Content-Type list or a repeated Content-Type, in any order, with protocol.http.DuplicateHeader', () => {
    const duplicate = '400 protocol.http.DuplicateHeader';
    expect(run({ contentType: 'application/json, text/plain' })).toBe(duplicate);
    expect(run({ contentType: 'text/plain, application/json' })).toBe(duplicate);
    expect(run({ contentType: 'application/json,application/json' })).toBe(duplicate); // Envoy's join
    expect(run({ headers: { 'content-type': ['text/plain', 'application/json'] } })).toBe(duplicate);
    expect(run({ headers: { 'Content-Type': 'text/plain', 'content-type': 'application/json' } })).toBe(duplicate);
    expect(run({ headers: { 'content-type': ['application/json', 'application/json'] } })).toBe(duplicate);
  });

  it('refuses a Content-Type that is not a media type with gatehouse.InvalidContentType', () => {
    for (const contentType of ['json', 'application/json garbage', 'application /json', 'application/'])
      expect(run({ contentType }), contentType).toBe('400 gatehouse.InvalidContentType');
  });

  it('passes other declared types, and empty bodies whatever their Content-Type', () => {
    expect(run({ contentType: 'text/plain' })).toBe('pass');
    expect(run({ contentType: 'application/jsonx' })).toBe('pass');
    expect(run({ contentType: 'application/json, text/plain', body: '' })).toBe('pass');
  });

  it('answers 502 when the upstream response declares several types', () => {
    const responseGuard = jsonThreatProtectionPolicy.create(
      { ...design4a, source: 'response' },
      { namespace: 'shop', name: 'g' },
    );
    const ctx = makePolicyContext({
      response: { body: bomb, headers: { 'content-type': ['application/json', 'text/html'] } },
    });
    expect(() => responseGuard(ctx)).toThrow('the response Content-Type names 2 media types');
    try {
      void responseGuard(ctx);
    } catch (error) {
      expect(toPolicyFault(error)).toMatchObject({ status: 502, errorCode: 'protocol.http.DuplicateHeader' });
    }
  });
});
