import { describe, expect, it } from 'vitest';
import { classifyContentType, kindOfContentType, sniffBodyKind } from './content-type.ts';

const kind = (...values: string[]) => {
  const verdict = classifyContentType(values);
  return verdict.status === 'one' ? verdict.kind : verdict.status;
};

describe('Content-Type classification', () => {
  it.each([
    'application/json',
    'text/json',
    'application/x-json',
    'APPLICATION/JSON',
    'Application/Json; Charset=UTF-8',
    '  application/json  ',
    'application/json;charset="utf-8"',
    'application/vnd.api+json',
    'application/problem+json',
    'text/anything+json',
    'application/json,',
  ])('%j is JSON', (value) => {
    expect(kind(value)).toBe('json');
    expect(kindOfContentType(value)).toBe('json');
  });

  it.each(['application/xml', 'text/xml', 'TEXT/XML; charset=iso-8859-1', 'application/soap+xml', 'image/svg+xml'])(
    '%j is XML',
    (value) => expect(kind(value)).toBe('xml'),
  );

  it('knows forms and everything else', () => {
    expect(kind('application/x-www-form-urlencoded; charset=utf-8')).toBe('form');
    expect(kind('text/plain')).toBe('other');
    expect(kind('application/jsonx')).toBe('other');
    expect(kind('multipart/form-data; boundary="a,b"')).toBe('other');
  });

  it('sees no Content-Type in no value or empty values', () => {
    expect(kind()).toBe('none');
    expect(kind('')).toBe('none');
    expect(kind(' ', ',')).toBe('none');
  });

  it('refuses more than one media type: a list, a repeated header, even the same type twice', () => {
    expect(kind('application/json, text/plain')).toBe('many');
    expect(kind('application/json,text/plain')).toBe('many'); // Envoy's join of two headers
    expect(kind('application/json', 'text/plain')).toBe('many'); // two header entries
    expect(kind('application/json', 'application/json')).toBe('many');
    expect(classifyContentType(['text/plain, application/json', 'application/xml'])).toEqual({
      status: 'many',
      count: 3,
    });
  });

  it('refuses what is not type/subtype', () => {
    for (const value of ['json', 'application/', '/json', 'application /json', 'application/json garbage', 'a/b/c'])
      expect(kind(value), value).toBe('malformed');
  });

  it('sniffs an untyped body by its first significant character', () => {
    expect(sniffBodyKind(' \r\n\t{"a":1}')).toBe('json');
    expect(sniffBodyKind('\uFEFF[1]')).toBe('json');
    expect(sniffBodyKind('  <a/>')).toBe('xml');
    expect(sniffBodyKind('a=1')).toBe('other');
    expect(sniffBodyKind('"string"')).toBe('other');
    expect(sniffBodyKind('   ')).toBe('other');
  });
});
