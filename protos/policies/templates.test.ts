import { describe, expect, it } from 'vitest';
import { assignMessage } from './mediation/assign-message.ts';
import { raiseFault } from './mediation/raise-fault.ts';
import {
  parseTemplate,
  payloadModes,
  TemplateArgumentError,
  templateProblem,
  TemplateSyntaxError,
  templateVariables,
  UnknownTemplateFunctionError,
  type TemplateMode,
  type TemplatePart,
} from './templates.ts';

/** The contexts of a template's references, in order: "name@context". */
function contexts(text: string, mode: TemplateMode): string[] {
  return parseTemplate(text, mode).flatMap((p: TemplatePart) =>
    typeof p === 'string' ? [] : [`${p.kind === 'variable' ? p.name : p.fn}@${p.context}`],
  );
}

describe('template grammar', () => {
  it('splits literal text, variables with defaults and calls with quoted, numeric and variable arguments', () => {
    expect(
      parseTemplate("a {x.y-z} b {h:Un-known} {substring(alpha,-8,seven)} {replaceAll(h,'^B ','T: ')}", 'text'),
    ).toEqual([
      'a ',
      { kind: 'variable', name: 'x.y-z', fallback: undefined, context: 'raw' },
      ' b ',
      { kind: 'variable', name: 'h', fallback: 'Un-known', context: 'raw' },
      ' ',
      {
        kind: 'call',
        fn: 'substring',
        args: [
          { kind: 'variable', name: 'alpha', fallback: undefined },
          { kind: 'literal', value: '-8' },
          { kind: 'variable', name: 'seven', fallback: undefined },
        ],
        context: 'raw',
      },
      ' ',
      {
        kind: 'call',
        fn: 'replaceAll',
        args: [
          { kind: 'variable', name: 'h', fallback: undefined },
          { kind: 'literal', value: '^B ' },
          { kind: 'literal', value: 'T: ' },
        ],
        context: 'raw',
      },
    ]);
    expect(parseTemplate('{toLowerCase(foo.bar:FOO)}{createUuid()}', 'text')).toEqual([
      {
        kind: 'call',
        fn: 'toLowerCase',
        args: [{ kind: 'variable', name: 'foo.bar', fallback: 'FOO' }],
        context: 'raw',
      },
      { kind: 'call', fn: 'createUuid', args: [], context: 'raw' },
    ]);
  });

  it('keeps literal braces: "{" followed by anything but a name start, balanced', () => {
    expect(parseTemplate('{"error":{}, "a":[{ }]}', 'text')).toEqual(['{"error":{}, "a":[{ }]}']);
    expect(parseTemplate('{ createUuid() }', 'text')).toEqual(['{ createUuid() }']);
    expect(parseTemplate('{\n  "id": "{messageid}"\n}', 'json')).toEqual([
      '{\n  "id": "',
      { kind: 'variable', name: 'messageid', fallback: undefined, context: 'json-string' },
      '"\n}',
    ]);
  });

  it.each([
    ['{{a}}', /"\{\{" at offset 0/],
    ['{3}', /"\{3" at offset 0/],
    ['{[]}', /"\{\[" at offset 0/],
    ['a}', /"\}" at offset 1 closes no "\{"/],
    ['{a}}', /"\}" at offset 3 closes no "\{"/],
    ['{ "a": 1', /"\{" at offset 0 is never closed/],
    ['{a', /the reference at offset 0 is never closed/],
    ['{a b}', /unexpected a space in the reference at offset 0 \(spaces are not allowed\)/],
    ['{a:b{c}', /the reference at offset 0 is never closed/],
    ['{substring( alpha,0,4 )}', /spaces are not allowed in function expressions/],
    ['{createUuid( )}', /spaces are not allowed in function expressions/],
    ["{substring({timeFormat('yyyy',t)},0,4)}", /calls cannot be nested/],
    ['{toLowerCase(a)x}', /unexpected "x" at offset 15 in the call to toLowerCase/],
    ["{toLowerCase('a}", /the quoted argument at offset 13 of toLowerCase is never closed/],
    ['{toLowerCase(a,)}', /unexpected "\)" at offset 15 in the call to toLowerCase/],
    ['{jsonPath($.a,body)}', /argument "\$\.a" of jsonPath is neither a quoted literal/],
  ])('refuses the malformed template %j', (template, message) => {
    expect(() => parseTemplate(template, 'text')).toThrow(TemplateSyntaxError);
    expect(() => parseTemplate(template, 'text')).toThrow(message);
  });

  it('refuses unknown functions, and xeger, which is documented but not implemented', () => {
    expect(() => parseTemplate('{x(a)}', 'text')).toThrow(UnknownTemplateFunctionError);
    expect(() => parseTemplate('{x(a)}', 'text')).toThrow('unknown template function "x"');
    expect(() => parseTemplate('{uuid()}', 'text')).toThrow('unknown template function "uuid"');
    expect(() => parseTemplate('{escapeHTML(a)}', 'text')).toThrow('unknown template function "escapeHTML"');
    expect(() => parseTemplate("{xeger('[1-9]{7}')}", 'text')).toThrow('template function "xeger" is not supported');
  });

  it.each([
    ['{toLowerCase()}', 'toLowerCase takes 1 argument, not 0'],
    ['{sha256Hex(a,b)}', 'sha256Hex takes 1 argument, not 2'],
    ['{substring(a)}', 'substring takes 2 to 3 arguments, not 1'],
    ['{createUuid(a)}', 'createUuid takes 0 arguments, not 1'],
    ["{substring(a,'x')}", 'substring: the start index must be an integer, not "x"'],
    ["{replaceAll(a,'(?<=x)y','')}", 'replaceAll: pattern "(?<=x)y" is not valid RE2 syntax'],
    [
      "{timeFormatUTC('YYYY',t)}",
      'timeFormatUTC: date/time pattern "YYYY": "Y" is week-based fields are not supported',
    ],
    ["{timeFormatUTC('yyyy-MM-dd q',t)}", '"q" is not a pattern letter'],
    ["{hmacSha256(k,v,'utf8')}", 'hmacSha256: the key encoding must be one of hex, base16, base64, utf-8, not "utf8"'],
    ["{hmacSha256(k,v,'hex','base32')}", 'the output encoding must be one of hex, base16, base64, not "base32"'],
    ['{randomLong(10,1)}', 'randomLong: the minimum must be less than the maximum'],
    ['{randomLong(99999999999999999999)}', 'the minimum must be an integer'],
    ["{jsonPath('$[?(@.a)]',b)}", 'filter and script expressions are not supported'],
    ["{jsonPath('a.b',b)}", 'JSONPath "a.b": must start with "$"'],
    ["{xpath('/a[',x)}", 'XPath "/a[" does not parse'],
    ["{xpath('/a',x,'nodeset','string')}", 'argument 4 of xpath must be a namespace "prefix:uri"'],
  ])('checks the arguments of %s', (template, message) => {
    expect(() => parseTemplate(template, 'text')).toThrow(TemplateArgumentError);
    expect(() => parseTemplate(template, 'text')).toThrow(message);
  });

  it('accepts every documented function with Apigee-shaped arguments', () => {
    const ok = [
      "{sha256Hex('abc')}",
      '{md5Base64(str)}',
      "{decodeBase64('d29ybGQK')}",
      '{substring(alpha,0,10)}',
      "{replaceFirst(header,regex1,'')}",
      '{escapeXML11(food)}',
      '{timeFormatUTCMs(format,system.timestamp)}',
      "{timeFormatUTCMs('yyyy-MM-dd HH:mm:ss.SSS',system.timestamp)}",
      "{hmacSha256(DateKey,aws_region,'base16','base16')}",
      '{hmacSha224(k,v)}',
      '{randomLong()}{randomLong(10)}{randomLong(1,1000)}',
      "{firstnonnull(var1,var2,'fallback value')}",
      '{xpath(xpathexpression,xml,soapns)}',
      "{xPath('/tag/tagid',xml,'string')}",
      "{jsonPath('$.config.quota[0:2].appname',the_json_variable,true)}",
    ];
    for (const template of ok) expect(templateProblem(template), template).toBeUndefined();
  });
});

describe('template contexts', () => {
  it('JSON: a reference inside a string literal is string content, anywhere else raw', () => {
    expect(contexts('{"{k}": "a\\"{v}", "n": {n}, "list": [{x}, "{y}"], "e": "\\\\{w}"}', 'json')).toEqual([
      'k@json-string',
      'v@json-string',
      'n@raw',
      'x@raw',
      'y@json-string',
      'w@json-string',
    ]);
    expect(contexts('{body}', 'json')).toEqual(['body@raw']);
  });

  it('JSON: braces inside strings are text and need not balance', () => {
    expect(templateProblem('{"pattern": "a}b{ c", "v": "{v}"}', ['json'])).toBeUndefined();
    expect(templateProblem('{"pattern": "a}"}', ['text'])).toMatch(/closes no "\{"/);
  });

  it('JSON: a reference right after a backslash in a string is refused', () => {
    expect(() => parseTemplate('{"a": "\\{v}"}', 'json')).toThrow(
      'a reference cannot follow a backslash in a JSON string (offset 8)',
    );
  });

  it('XML: text, attribute values in either quote, CDATA, comments; markup and outside the root raw', () => {
    const xml = `{decl}<?xml version="1.0"?><!DOCTYPE a [<!ELEMENT a ANY>]><!-- {c1} --><a x="{a1}" y='{a2}' {attrs}>{t1}<b/>{t2}<![CDATA[{cd}]]><{tag}/></a>{after}`;
    expect(contexts(xml, 'xml')).toEqual([
      'decl@raw',
      'c1@xml-comment',
      'a1@xml-attribute',
      'a2@xml-attribute',
      'attrs@raw',
      't1@xml-text',
      't2@xml-text',
      'cd@xml-cdata',
      'tag@raw',
      'after@raw',
    ]);
  });

  it('text: every reference is raw', () => {
    expect(contexts('"{a}" <b>{b}</b>', 'text')).toEqual(['a@raw', 'b@raw']);
  });
});

describe('template variables and modes', () => {
  it('lists the variables references and arguments read', () => {
    expect(templateVariables("{a}{b:x}{jsonPath('$.a',request.content)}{firstnonnull(c,'d')}")).toEqual([
      'a',
      'b',
      'request.content',
      'c',
    ]);
    expect(templateVariables('{"a": "}", "b": "{response.content}"}')).toEqual(['response.content']);
    expect(templateVariables('{unknownFn(a)}')).toEqual([]);
  });

  it("renders a payload in its content type's mode, or every mode when the message decides", () => {
    expect(payloadModes('{}', 'application/problem+json; charset=utf-8')).toEqual(['json']);
    expect(payloadModes('x', 'TEXT/XML')).toEqual(['xml']);
    expect(payloadModes('{}', 'text/plain')).toEqual(['text']);
    expect(payloadModes(' <a/>', undefined)).toEqual(['xml', 'text', 'json']);
    expect(payloadModes('[1]', undefined)).toEqual(['json', 'text', 'xml']);
  });
});

describe('template validation in policy configs', () => {
  it('names the field of AssignMessage that holds a bad template', () => {
    expect(
      assignMessage.validate!({
        set: {
          headers: { 'x-a': '{nope(a)}' },
          payload: { contentType: 'application/json', content: '{"a": "\\{v}"}' },
          path: '/x/{y',
        },
        assignVariable: [{ name: 'v', template: '{{v}}' }],
      }),
    ).toEqual([
      { path: 'set.headers.x-a', message: 'unknown template function "nope"' },
      { path: 'set.path', message: 'the reference at offset 3 is never closed' },
      { path: 'set.payload.content', message: 'a reference cannot follow a backslash in a JSON string (offset 8)' },
      { path: 'assignVariable[0].template', message: '"{{" at offset 0 is neither a reference nor a literal brace' },
    ]);
    expect(
      assignMessage.validate!({ operations: [{ add: { queryParams: { q: '{x(a)}' } } }] })?.map((p) => p.path),
    ).toEqual(['operations[0].add.queryParams.q']);
  });

  it('checks a payload without a content type in every mode the message may choose', () => {
    expect(assignMessage.validate!({ set: { payload: { content: '{"a": "}"}' } } })).toEqual([
      { path: 'set.payload.content', message: '"}" at offset 9 closes no "{" (as text)' },
    ]);
  });

  it('refuses a payload content type that is not one media type', () => {
    expect(
      raiseFault.validate!({ statusCode: 400, payload: { contentType: 'application/json, text/plain', content: 'x' } }),
    ).toEqual([
      { path: 'payload.contentType', message: '"application/json, text/plain" is not one media type (type/subtype)' },
    ]);
  });

  it('checks RaiseFault headers and payload (text/plain by default)', () => {
    expect(
      raiseFault.validate!({
        statusCode: 400,
        headers: { 'x-a': '{sha1Hex(a,b)}' },
        payload: { content: '{"a": "}"}' },
      }),
    ).toEqual([
      { path: 'headers.x-a', message: 'sha1Hex takes 1 argument, not 2' },
      { path: 'payload.content', message: '"}" at offset 9 closes no "{"' },
    ]);
    expect(
      raiseFault.validate!({
        statusCode: 400,
        payload: { contentType: 'application/json', content: '{"a": "}", "id": "{messageid}"}' },
      }),
    ).toEqual([]);
  });
});
