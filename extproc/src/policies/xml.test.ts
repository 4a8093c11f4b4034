import { createRequire } from 'node:module';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { XmlNode } from './xml.ts';
import {
  compileXPath,
  NO_XML_LIMITS,
  parseXmlDocument,
  scanXml,
  serializeXmlNode,
  xpathAdapted,
  xpathMatchTexts,
  XmlViolation,
} from './xml.ts';

interface LibraryNode {
  textContent: string | null;
  nodeValue: string | null;
}
const xpathLibrary = createRequire(import.meta.url)('xpath') as {
  parse(expression: string): {
    evaluate(options: { node: unknown; namespaces: Record<string, string> }): {
      nodeset(): { toArray(): LibraryNode[] };
      stringValue(): string;
    };
  };
};

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

describe('the DOM XPath runs on', () => {
  /** xmldom + xpath.js, as XPath ran before this DOM: the reference for what selections mean. */
  const reference = (text: string, expression: string, namespaces: Record<string, string>): string[] => {
    const document = new DOMParser().parseFromString(text, 'text/xml');
    const result = xpathLibrary.parse(expression).evaluate({ node: document, namespaces });
    try {
      return result
        .nodeset()
        .toArray()
        .map((n) => n.textContent ?? n.nodeValue ?? '');
    } catch {
      return [result.stringValue()];
    }
  };

  const name = fc.constantFrom('a', 'b', 'p:c', 'q:d');
  const text = fc.constantFrom('x', ' y ', 'a&amp;b', '&lt;t&gt;', '&#65;&#x42;', '\n', 'one two');
  const attribute = fc.tuple(fc.constantFrom('k', 'p:k', 'v'), fc.constantFrom('1', 'a b', '&quot;q&quot;', ''));
  const element: fc.Arbitrary<string> = fc.letrec((tie) => ({
    node: fc
      .tuple(
        name,
        fc.uniqueArray(attribute, { maxLength: 2, selector: ([k]) => k }),
        fc.array(
          fc.oneof(
            { depthSize: 'small' },
            text,
            tie('node'),
            fc.constant('<![CDATA[<raw>&]]>'),
            fc.constant('<!--c-->'),
          ),
          {
            maxLength: 4,
          },
        ),
      )
      .map(([n, attrs, children]) => {
        const a = attrs.map(([k, v]) => ` ${k}="${v}"`).join('');
        return children.length === 0 ? `<${n}${a}/>` : `<${n}${a}>${children.join('')}</${n}>`;
      }),
  })).node;
  const document = element.map((root) => `<r xmlns:p="urn:p" xmlns:q="urn:q">${root}</r>`);
  const expression = fc.constantFrom(
    '//*',
    '//a',
    '/r/*',
    '//p:c',
    '//*[local-name()="d"]',
    '//@*',
    '//@p:k',
    '//text()',
    '//comment()',
    'count(//*)',
    'string(/r)',
    '//*[.="x"]',
    '//a[1]',
    '//b[last()]',
    '//*[@k]',
    'normalize-space(/r)',
    '//a | //b',
    '//*[2]/..',
  );

  it('selects what xmldom selected, with the same string values', () => {
    fc.assert(
      fc.property(document, expression, (text, xpath) => {
        const namespaces = { p: 'urn:p', q: 'urn:q' };
        expect(compileXPath(xpath, namespaces).values(parseXmlDocument(text))).toEqual(
          reference(text, xpath, namespaces),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it("writes a selected node as xmldom wrote it (a template's xPath()), declarations it needs included", () => {
    const serializer = new XMLSerializer();
    fc.assert(
      fc.property(document, fc.constantFrom('//*', '//p:c', '//@*', '//text()', '//comment()', '/'), (text, xpath) => {
        const namespaces = { p: 'urn:p', q: 'urn:q' };
        const ours = xpathLibrary
          .parse(xpath)
          .evaluate({ node: parseXmlDocument(text), namespaces })
          .nodeset()
          .toArray()
          .map((n) => serializeXmlNode(n as unknown as XmlNode));
        const theirs = xpathLibrary
          .parse(xpath)
          .evaluate({ node: new DOMParser().parseFromString(text, 'text/xml'), namespaces })
          .nodeset()
          .toArray()
          .map((n) => serializer.serializeToString(n as never));
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 500 },
    );
    const deep = parseXmlDocument(`${'<a>'.repeat(250)}${'</a>'.repeat(250)}`);
    expect(serializeXmlNode(deep)).toBe(`${'<a>'.repeat(249)}<a/>${'</a>'.repeat(249)}`);
  });

  it('gives the document its text as string value (xmldom gave none)', () => {
    expect(compileXPath('/').values(parseXmlDocument('<a>x<b>y</b></a>'))).toEqual(['xy']);
  });

  it('refuses what xmldom refused: unbound prefixes, bad character references', () => {
    expect(() => parseXmlDocument('<p:a/>')).toThrow(XmlViolation);
    expect(() => parseXmlDocument('<a>&#0;</a>')).toThrow(XmlViolation);
  });

  it('keeps xpath.js adapted (without it, node sets are quadratic)', () => {
    expect(xpathAdapted()).toBe(true);
  });

  it('matches containers through the outermost selected one', () => {
    const doc = parseXmlDocument('<a k="v">x<b>y<c>z</c></b><d>w</d></a>');
    expect(xpathMatchTexts(compileXPath('//*').select(doc))).toEqual(['xyzw', 'z', 'w']);
    expect(xpathMatchTexts(compileXPath('//b | //c | //@k').select(doc))).toEqual(['v', 'yz', 'z']);
    expect(xpathMatchTexts(compileXPath('count(//*)').select(doc))).toEqual(['4']);
  });
});
