import { DOMParser } from '@xmldom/xmldom';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTemplate } from '../../../protos/policies/templates.ts';
import { NO_XML_LIMITS, scanXml } from '../policies/xml.ts';
import { compilePayloadTemplate, compileTemplate, expandTemplate, type TemplateVariables } from './templates.ts';
import { createRequestMessage } from './message.ts';

const vars = (values: Record<string, string>): TemplateVariables => ({ getString: (name) => values[name] });
const render = (template: string, mode: 'text' | 'json' | 'xml', values: Record<string, string>) =>
  compileTemplate(template, mode).render(vars(values));

/** Hostile values: quotes, backslashes, controls, line separators, markup, CDATA and comment ends. */
const hostile = [
  '","admin":true,"x":"',
  '\\","admin":true,"x":"\\',
  'a\\',
  '\\',
  'line\nbreak\r\ttab\u0000nul\u001f',
  'js\u2028line\u2029sep',
  '\uD800 lone \uDFFF surrogates',
  '</a><admin>true</admin><a>',
  '"/><admin x="1',
  "' onload='x",
  '&amp; &lt; &#x41; &',
  ']]><admin/><![CDATA[',
  '--><admin/><!--',
  '-',
  '{"k":1}',
  '${jndi:ldap://x/a}',
  '👾 مرحبا',
];
const anyText = fc.oneof(fc.constantFrom(...hostile), fc.string({ unit: 'binary' }), fc.string());

const parseXml = (text: string) => {
  scanXml(text, NO_XML_LIMITS); // well-formed, within the policies' own rules
  return new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') throw new Error(message);
    },
  }).parseFromString(text, 'text/xml');
};
/** What XML 1.0 can carry of a string: the escaping drops the rest. */
const xmlRepresentable = (value: string) =>
  value.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '');

describe('context-aware rendering: JSON payloads', () => {
  const template = '{"user": "{request.header.x-user}", "{request.header.x-key}": 1, "note": "id={messageid}."}';

  it.each(hostile)('keeps %j inside its string, key or value', (value) => {
    const out = render(template, 'json', {
      'request.header.x-user': value,
      'request.header.x-key': value,
      messageid: value,
    });
    const parsed = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['user', value, 'note']);
    expect(parsed.user).toBe(value);
    expect(parsed.note).toBe(`id=${value}.`);
    expect(out).not.toMatch(/[\u2028\u2029]/); // also safe to embed in JavaScript
  });

  it('never lets any value add a key (property)', () => {
    fc.assert(
      fc.property(anyText, anyText, (user, key) => {
        fc.pre(key !== 'user' && key !== 'note');
        const parsed = JSON.parse(
          render(template, 'json', { 'request.header.x-user': user, 'request.header.x-key': key }),
        ) as Record<string, unknown>;
        // Sorted: a key such as "0" is listed first by JavaScript whatever its position in the text.
        expect(Object.keys(parsed).sort()).toEqual(['user', key, 'note'].sort());
        expect(parsed.user).toBe(user);
      }),
    );
  });

  it('escapes function results in strings too, and defaults; raw outside strings (intentional fragments)', () => {
    expect(render('{"a": "{toUpperCase(v)}", "b": "{missing:say "hi"}"}', 'json', { v: 'x"y' })).toBe(
      '{"a": "X\\"Y", "b": "say \\"hi\\""}',
    );
    expect(render('{"items": {items}, "n": {n}}', 'json', { items: '[1,2]', n: '3' })).toBe('{"items": [1,2], "n": 3}');
  });

  it("does not escape escapeJSON's result twice (Apigee's own advice for JSON payloads)", () => {
    const value = 'Invalid value for "logonId" check your input.';
    expect(render('{"systemMessage": "{escapeJSON(m)}"}', 'json', { m: value })).toBe(
      '{"systemMessage": "Invalid value for \\"logonId\\" check your input."}',
    );
    expect(render('{"systemMessage": "{escapeXML(m)}"}', 'json', { m: '"<' })).toBe('{"systemMessage": "&quot;&lt;"}');
  });
});

describe('context-aware rendering: XML payloads', () => {
  const template =
    '<?xml version="1.0"?><!-- by {who} --><order id="{id}" note=\'{note}\'><item>{item}</item><raw><![CDATA[{cdata}]]></raw></order>';

  it.each(hostile)('keeps %j inside its text, attribute, CDATA section or comment', (value) => {
    const out = render(template, 'xml', { who: value, id: value, note: value, item: value, cdata: value });
    const doc = parseXml(out);
    const order = doc.documentElement!;
    expect(order.tagName).toBe('order');
    expect(order.getElementsByTagName('admin').length).toBe(0);
    expect(order.getAttribute('id')).toBe(xmlRepresentable(value));
    expect(order.getAttribute('note')).toBe(xmlRepresentable(value));
    expect(order.getElementsByTagName('item')[0]!.textContent).toBe(xmlRepresentable(value));
    expect(order.getElementsByTagName('raw')[0]!.textContent).toBe(xmlRepresentable(value));
    expect([...order.attributes].map((a) => a.name)).toEqual(['id', 'note']);
  });

  it('never lets any value add markup (property)', () => {
    fc.assert(
      fc.property(anyText, (value) => {
        const doc = parseXml(
          render(template, 'xml', { who: value, id: value, note: value, item: value, cdata: value }),
        );
        expect(doc.getElementsByTagName('*').length).toBe(3); // order, item, raw
        expect(doc.documentElement!.getAttribute('id')).toBe(xmlRepresentable(value));
      }),
    );
  });

  it('inserts references outside the root element and in markup as they are', () => {
    expect(render('{envelope}', 'xml', { envelope: '<a>1</a>' })).toBe('<a>1</a>');
    expect(render('<{tag} {attrs}/>', 'xml', { tag: 'a', attrs: 'x="1"' })).toBe('<a x="1"/>');
  });

  it('does not escape escapeXML twice in text and attributes', () => {
    expect(render('<a b="{escapeXML(v)}">{escapeXML11(v)}</a>', 'xml', { v: '<&>' })).toBe(
      '<a b="&lt;&amp;&gt;">&lt;&amp;&gt;</a>',
    );
  });
});

describe('text templates', () => {
  it('insert values as they are, unknown variables as ""', () => {
    expect(render('{a}-{missing}-{b:dflt}-{ not a ref }', 'text', { a: '"<x>"' })).toBe('"<x>"--dflt-{ not a ref }');
    expect(expandTemplate('no braces', vars({}))).toBe('no braces');
    expect(expandTemplate('{a}', vars({ a: '1' }), 'json')).toBe('1');
  });
});

describe('payload templates', () => {
  const request = (contentType?: string | string[]) =>
    createRequestMessage({ method: 'POST', path: '/', headers: contentType ? { 'content-type': contentType } : {} });

  it("take their mode from the target's Content-Type, else from how they look", () => {
    const payload = compilePayloadTemplate('{"a": "{v}"}', undefined);
    const v = vars({ v: '"' });
    expect(payload.render(v, request('text/json'))).toBe('{"a": "\\""}');
    expect(payload.render(v, request())).toBe('{"a": "\\""}');
    expect(payload.render(v, request('text/plain'))).toBe('{"a": """}');
    expect(() => payload.render(v, request(['application/json', 'text/plain']))).toThrow(
      'the request Content-Type names 2 media types',
    );
    expect(() => payload.render(v, request('json'))).toThrow('the request Content-Type is not a media type');
  });

  it('use the configured content type whatever the message says', () => {
    expect(
      compilePayloadTemplate('<a>{v}</a>', 'application/xml').render(vars({ v: '<' }), request('text/plain')),
    ).toBe('<a>&lt;</a>');
  });
});

describe('template functions (golden cases from Apigee\u2019s function reference)', () => {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const values = {
    alpha,
    seven: '7',
    str: 'abc',
    value: 'abc',
    encoded: 'aGVsbG8sIHdvcmxk',
    header: 'Bearer ABCDEFGHIJKLMNOPQRSTUVWXYZ-9993',
    regex1: '^Bearer ',
    replacement: 'TOKEN: ',
    food: '"bread" & "butter"',
    epoch_time_ms: '1494390266000',
    epoch_time: '1494390266',
    fmt1: 'yyyy-MM-dd',
    fmt2: 'yyyy-MM-dd HH-mm-ss',
    fmt3: 'yyyyMMddHHmmss',
    foo: 'foo',
    bar: 'bar',
    baz: 'baz',
    empty: '',
    xml: '<tag><tagid>250397</tagid><readerid>1</readerid><rssi>74</rssi><date>2019/06/15</date></tag>',
    xpath: '/tag/tagid',
    soap: '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><r>1</r></soap:Body></soap:Envelope>',
    soapns: 'soap:http://schemas.xmlsoap.org/soap/envelope/',
    records: '<Record><Fields><Pair/><Pair/></Fields></Record>',
    json: JSON.stringify({
      results: [
        { address: { line1: '18250 142ND AV NE', city: 'Woodinville' }, name: 'Fred Meyer' },
        { address: { line1: '1060 West Addison Street', city: 'Chicago' }, name: 'Mae West' },
      ],
      config: {
        quota: [
          { appname: 'A', operation: 'ManageOrder', value: '900' },
          { appname: 'B', operation: 'ManageOrder', value: '1000' },
          { appname: 'B', operation: 'SubmitOrder', value: '800' },
        ],
      },
    }),
    query: '$.config.quota[0:2].appname',
  };
  const t = (template: string) => render(template, 'text', values);

  it.each([
    ["{sha256Hex('abc')}", 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['{sha256Hex(str)}', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ["{sha256Base64('abc')}", 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='],
    ["{md5Hex('abc')}", '900150983cd24fb0d6963f7d28e17f72'],
    ["{sha1Hex('abc')}", 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    ["{sha1Base64('abc')}", 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0='],
    ["{md5Base64('abc')}", 'kAFQmDzST7DWlj99KOF/cg=='],
    [
      "{sha384Hex('abc')}",
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    ],
    [
      "{sha512Hex('abc')}",
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    ],
    ['{encodeBase64(value)}', 'YWJj'],
    ['{decodeBase64(encoded)}', 'hello, world'],
    ["Hello, {decodeBase64('d29ybGQK')}", 'Hello, world\n'],
    ["{decodeBase64('aGk_')}", ''], // Base64URL decodes to nothing, as documented
    ['{toUpperCase(foo)} {toLowerCase(alpha)}', `FOO ${alpha.toLowerCase()}`],
    ['Test header: {toLowerCase(foo.bar:FOO)}', 'Test header: foo'],
    ['{substring(alpha,22)}', 'WXYZ'],
    ['hello {substring(alpha,22)}', 'hello WXYZ'],
    ['{substring(alpha,-4)}', 'WXYZ'],
    ['{substring(alpha,-8,-4)}', 'STUV'],
    ['{substring(alpha,0,10)}', 'ABCDEFGHIJ'],
    ['{substring(alpha,0,seven)}', 'ABCDEFG'],
    ["{replaceAll(header,'9993','')}", 'Bearer ABCDEFGHIJKLMNOPQRSTUVWXYZ-'],
    ["{replaceAll(header,regex1,'')}", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ-9993'],
    ['{replaceAll(header,regex1,replacement)}', 'TOKEN: ABCDEFGHIJKLMNOPQRSTUVWXYZ-9993'],
    ["{replaceAll('BEARER: 1234','^Bearer ','TOKEN:')}", 'BEARER: 1234'],
    ["{replaceFirst(alpha,'[AEIOU]','_')}", `_${alpha.slice(1)}`],
    ["{replaceAll(str,'(b)','[$1]')}", 'a[b]c'],
    ['{encodeHTML(food)}', '&quot;bread&quot; &amp; &quot;butter&quot;'],
    ['{escapeXML(food)}', '&quot;bread&quot; &amp; &quot;butter&quot;'],
    ['{timeFormatMs(fmt1,epoch_time_ms)}', '2017-05-10'],
    ['{timeFormat(fmt1,epoch_time)}', '2017-05-10'],
    ['{timeFormatUTC(fmt1,epoch_time)}', '2017-05-10'],
    ['{timeFormatUTC(fmt2,epoch_time)}', '2017-05-10 04-24-26'],
    ['{timeFormatUTC(fmt3,epoch_time)}', '20170510042426'],
    ["{timeFormatUTCMs('yyyy-MM-dd HH:mm:ss',epoch_time_ms)}", '2017-05-10 04:24:26'],
    ['{firstnonnull(var1,bar)}', 'bar'],
    ['{firstnonnull(foo,bar)}', 'foo'],
    ['{firstnonnull(var1,var2,baz)}', 'baz'],
    ['{firstnonnull(var1,var2,var3)}', ''],
    ['{firstnonnull(empty,bar)}', ''],
    ["{firstnonnull(var1,var2,'fallback value')}", 'fallback value'],
    ['{xpath(xpath,xml)}', '<tagid>250397</tagid>'],
    ["{xPath('/tag/tagid/text()',xml,'string')}", '250397'],
    ["{xpath('/soap:Envelope/soap:Body/*',soap,soapns)}", '<r>1</r>'],
    ["{xpath('count(//Record/Fields/Pair)',records,'number')}", '2'],
    ["{xpath('count(//Record/Fields/Pair)>0',records,'boolean')}", 'true'],
    ["{xpath('/nothing',xml)}", ''],
    ["The address is {jsonPath('$.results[1].address.line1',json)}", 'The address is 1060 West Addison Street'],
    ['{jsonPath(query,json,true)}', '["A","B"]'],
    ['{jsonPath(query,json)}', 'A'],
    ["{jsonPath('$.results[0].address',json)}", '{"line1":"18250 142ND AV NE","city":"Woodinville"}'],
    ["{jsonPath('$.missing',json)}", ''],
    ["{jsonPath('$.a',foo)}", ''], // not JSON: unresolved
  ])('%s', (template, expected) => {
    expect(t(template)).toBe(expected);
  });

  it('computes HMACs with Apigee\u2019s argument order and encodings (RFC 4231 test case 2)', () => {
    const v = { key: 'Jefe', data: 'what do ya want for nothing?', hexKey: Buffer.from('Jefe').toString('hex') };
    const expected = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
    expect(render("{hmacSha256(key,data,'utf-8','hex')}", 'text', v)).toBe(expected);
    expect(render("{hmacSha256(hexKey,data,'BASE16','base16')}", 'text', v)).toBe(expected);
    expect(render('{hmacSha256(key,data)}', 'text', v)).toBe(Buffer.from(expected, 'hex').toString('base64'));
    expect(render("{hmacSha224(key,data,'utf-8','hex')}", 'text', v)).toBe(
      'a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44',
    );
    expect(render("{hmacSha512(key,data,'utf-8','hex')}", 'text', v)).toMatch(/^164b7a7bfcf819e2e395fbe73b56e0a3/);
    expect(render("{hmacSha1(key,data,'utf-8','hex')}", 'text', v)).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
    expect(render("{hmacMd5(key,data,'utf-8','hex')}", 'text', v)).toBe('750c783e6ab0b503eaa86e310a5db738');
    expect(render("{hmacSha384(key,data,'utf-8','hex')}", 'text', v)).toMatch(/^af45d2e376484031617f78d2b58a6b1b/);
    expect(render("{hmacSha256(key,data,'hex')}", 'text', v)).toBe(''); // "Jefe" is not hex: unresolved
  });

  it('cascades HMACs as the AWS Signature v4 example does (hex keys between steps)', () => {
    const v = { FirstKey: 'AWS4secret', DateValue: '20150830', aws_region: 'us-east-1' };
    const dateKey = render("{hmacSha256(FirstKey,DateValue,'utf-8','base16')}", 'text', v);
    expect(dateKey).toMatch(/^[0-9a-f]{64}$/);
    const regionKey = render("{hmacSha256(DateKey,aws_region,'base16','base16')}", 'text', { ...v, DateKey: dateKey });
    expect(regionKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it('creates UUIDs and random longs in range', () => {
    expect(t('{createUuid()}')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(t('{createUuid()}')).not.toBe(t('{createUuid()}'));
    expect(BigInt(t('{randomLong()}'))).toBeGreaterThanOrEqual(-(2n ** 63n));
    for (let i = 0; i < 50; i++) {
      const n = Number(t('{randomLong(1,4)}'));
      expect(n >= 1 && n < 4).toBe(true);
      expect(BigInt(t('{randomLong(9223372036854775806)}'))).toBe(9223372036854775806n);
    }
  });

  it('escapes for XML 1.0 and 1.1 as documented', () => {
    expect(render('{escapeXML(v)}', 'text', { v: 'a\u0001b\u007fc' })).toBe('ab&#127;c');
    expect(render('{escapeXML11(v)}', 'text', { v: 'a\u0000\u0001b\u007fc\uD800' })).toBe('a&#1;b&#127;c');
    expect(render('{escapeJSON(v)}', 'text', { v: 'a"b\\c\n' })).toBe('a\\"b\\\\c\\n');
  });

  it('has no escape for a quote inside a quoted literal: it ends the literal', () => {
    expect(() => parseTemplate("{escapeXML('it''s')}", 'text')).toThrow(/unexpected "'"/);
  });

  it('leaves what a function cannot use from a variable unresolved', () => {
    const bad = {
      regex: '(?<=a)b',
      path: '$[?(@.a)]',
      n: 'x',
      fmt: 'YYYY',
      json: '{"a":',
      xml: '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
    };
    expect(render("{replaceAll(regex,regex,'')}", 'text', bad)).toBe('');
    expect(render('{jsonPath(path,json)}', 'text', bad)).toBe('');
    expect(render("{jsonPath('$.a',json)}", 'text', bad)).toBe('');
    expect(render('{substring(regex,n)}', 'text', bad)).toBe('');
    expect(render("{timeFormatUTC(fmt,'1')}", 'text', bad)).toBe('');
    expect(render("{xpath('/a',xml)}", 'text', bad)).toBe(''); // DOCTYPE refused: no entity expanded
    expect(render('{toUpperCase(unset)}', 'text', bad)).toBe('');
  });
});
