import { describe, expect, it } from 'vitest';
import { ImportXmlError } from './errors.ts';
import { parseXml } from './xml.ts';

const parse = (text: string) => parseXml('apiproxy/policies/P.xml', new TextEncoder().encode(text));

describe('bundle XML', () => {
  it('gives XPaths with positions only where a name repeats, and lists what was never read', () => {
    const el = parse(
      '<?xml version="1.0"?>\n<!-- c -->\n<Quota name="Q" extra="1"><Allow count="3"/><Flows><Flow/><Flow><X>1</X></Flow></Flows><Empty/><Other>t</Other></Quota>',
    );
    el.attr('name');
    el.child('Allow')!.attr('count');
    const flows = el.child('Flows')!.all('Flow');
    expect(flows.map((f) => f.xpath)).toEqual(['/Quota/Flows/Flow[1]', '/Quota/Flows/Flow[2]']);
    expect(el.unread()).toEqual([
      { xpath: '/Quota/@extra', what: '@extra' },
      { xpath: '/Quota/Flows/Flow[2]/X', what: '<X>' },
      { xpath: '/Quota/Other', what: '<Other>' },
    ]);
  });

  it('decodes the predefined entities and keeps XML content as XML', () => {
    const el = parse('<P><Payload><a b="&quot;x&quot;">1 &amp; 2 &lt; 3</a><!-- no --></Payload></P>');
    expect(el.child('Payload')!.innerXml()).toBe('<a b="&quot;x&quot;">1 &amp; 2 &lt; 3</a>');
  });

  it('names the file, line and column of a syntax error', () => {
    expect(() => parse('<A>\n  <B>\n</A>')).toThrow(ImportXmlError);
    expect(() => parse('<A>\n  <B>\n</A>')).toThrow(/^apiproxy\/policies\/P.xml:3:1: XML does not parse: /);
  });

  it('refuses a DOCTYPE in the prolog, and reads <!DOCTYPE inside CDATA as text', () => {
    expect(() => parse('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')).toThrow(/DOCTYPE is not accepted/);
    const el = parse('<a><![CDATA[<!DOCTYPE html><html/>]]></a>');
    expect(el.text).toBe('<!DOCTYPE html><html/>');
  });

  it('refuses elements nested deeper than 64', () => {
    expect(() => parse(`${'<a>'.repeat(70)}${'</a>'.repeat(70)}`)).toThrow(/nested deeper than 64/);
  });
});
