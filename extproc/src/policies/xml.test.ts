import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { compileXPath, NO_XML_LIMITS, parseXmlDocument, scanXml, XmlViolation } from './xml.ts';

function scanOutcome(text: string): 'ok' | 'violation' {
  try {
    scanXml(text, NO_XML_LIMITS);
    return 'ok';
  } catch (error) {
    if (error instanceof XmlViolation) return 'violation';
    throw error;
  }
}

describe('scanXml', () => {
  it('never throws anything but an XmlViolation, and accepts nothing the validator rejects', () => {
    const alphabet = fc.constantFrom(
      ...'<>/?!-[]=&;#"\' abx:'.split(''),
      '<a>',
      '</a>',
      '<!--',
      '-->',
      '<![CDATA[',
      ']]>',
      '&amp;',
      '<?pi',
      '?>',
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), (parts) => {
        const text = parts.join('');
        if (scanOutcome(text) === 'ok') expect(XMLValidator.validate(text)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('XPath', () => {
  it('selects nodes and scalar results from a parsed document', () => {
    const doc = parseXmlDocument('<r><i n="1">a</i><i n="2">b</i></r>');
    expect(compileXPath('/r/i').values(doc)).toEqual(['a', 'b']);
    expect(compileXPath('/r/i/@n').values(doc)).toEqual(['1', '2']);
    expect(compileXPath('count(/r/i)').values(doc)).toEqual(['2']);
    expect(compileXPath('/r/missing').values(doc)).toEqual([]);
  });

  it('refuses to build a DOM from a document with a DOCTYPE or beyond the depth bound', () => {
    expect(() => parseXmlDocument('<!DOCTYPE r><r/>')).toThrow(XmlViolation);
    expect(() => parseXmlDocument(`${'<a>'.repeat(300)}${'</a>'.repeat(300)}`)).toThrow(XmlViolation);
  });
});
