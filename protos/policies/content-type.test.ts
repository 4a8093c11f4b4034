import { describe, expect, it } from 'vitest';
import { classifyContentType, kindOfContentType, sniffBodyKind, VERDICT_CACHE_SIZE } from './content-type.ts';

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

describe('Content-Type verdicts kept per value', () => {
  it('a value gives the same verdict every time, whatever came between, past the bound too', () => {
    const first = classifyContentType(['application/json']);
    for (let i = 0; i < VERDICT_CACHE_SIZE + 10; i++) {
      expect(classifyContentType([`application/x-${i}+xml`])).toMatchObject({ status: 'one', kind: 'xml' });
      expect(classifyContentType([`text/plain, a/${i}`])).toEqual({ status: 'many', count: 2 });
    }
    expect(classifyContentType(['application/json'])).toEqual(first);
    expect(classifyContentType(['application/json', 'application/json'])).toEqual({ status: 'many', count: 2 });
    expect(classifyContentType(['nonsense'])).toEqual({ status: 'malformed' });
    expect(classifyContentType([''])).toEqual({ status: 'none' });
  });

  it('a kept verdict cannot be changed by one caller for the next', () => {
    const verdict = classifyContentType(['application/json; charset=utf-8']);
    expect(Object.isFrozen(verdict)).toBe(true);
    if (verdict.status !== 'one') throw new Error('expected one media type');
    expect(Object.isFrozen(verdict.media)).toBe(true);
    expect(() => Object.assign(verdict.media, { subtype: 'xml' })).toThrow(TypeError);
    expect(classifyContentType(['application/json; charset=utf-8'])).toMatchObject({ kind: 'json' });
  });

  it('a very long value is classified, not kept', () => {
    const long = `application/json; p="${'x'.repeat(10_000)}"`;
    expect(classifyContentType([long])).toMatchObject({ status: 'one', kind: 'json' });
    expect(Object.isFrozen(classifyContentType([long]))).toBe(false);
  });
});
