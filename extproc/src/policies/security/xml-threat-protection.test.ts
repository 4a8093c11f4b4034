import { describe, expect, it } from 'vitest';
import type { XMLThreatProtectionConfig } from '../../../../protos/policies/security/xml-threat-protection.ts';
import { toPolicyFault } from '../../flow/fault-response.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { xmlThreatProtectionPolicy } from './xml-threat-protection.ts';

/** A threat fault as `<error code> <kind>`: Apigee's one code, and the kind its faultstring names first. */
function threatOutcome(fault: PolicyFault): string {
  const kind = /reason: (\w+):/.exec(fault.message)?.[1];
  return kind ? `${fault.errorCode} ${kind}` : fault.errorCode;
}

const config: XMLThreatProtectionConfig = {
  nameLimits: { element: 10, attribute: 10, namespacePrefix: 5, processingInstructionTarget: 10 },
  structureLimits: { nodeDepth: 5, attributeCountPerElement: 2, namespaceCountPerElement: 2, childCount: 4 },
  valueLimits: { text: 20, attribute: 10, namespaceURI: 30, comment: 10, processingInstructionData: 10 },
};

function outcome(body: string, contentType = 'application/xml', c: XMLThreatProtectionConfig = config): string {
  const step = xmlThreatProtectionPolicy.create(c, { namespace: 'shop', name: 'xml-guard' });
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

describe('XMLThreatProtection', () => {
  it('passes a document within every limit', () => {
    const doc = `<?xml version="1.0" encoding="UTF-8"?>
<o:order xmlns:o="urn:example:orders" id="1">
  <!-- short -->
  <?render fast?>
  <item sku='a1'>two &amp; three</item>
  <note><![CDATA[<b>bold</b>]]></note>
</o:order>`;
    expect(outcome(doc)).toBe('pass');
    expect(outcome('<a/>', 'text/xml')).toBe('pass');
    expect(outcome('<a/>', 'application/soap+xml')).toBe('pass');
  });

  it.each([
    ['element name', '<abcdefghijk/>', 'steps.xmlthreatprotection.ExecutionFailed ElementNameLengthExceeded'],
    ['attribute name', '<a abcdefghijk="1"/>', 'steps.xmlthreatprotection.ExecutionFailed AttributeNameLengthExceeded'],
    [
      'namespace prefix (declaration)',
      '<a xmlns:abcdef="u"/>',
      'steps.xmlthreatprotection.ExecutionFailed NamespacePrefixLengthExceeded',
    ],
    [
      'namespace prefix (element)',
      '<abcdef:a xmlns:abcdef="u"/>',
      'steps.xmlthreatprotection.ExecutionFailed NamespacePrefixLengthExceeded',
    ],
    [
      'processing instruction target',
      '<a><?abcdefghijk x?></a>',
      'steps.xmlthreatprotection.ExecutionFailed ProcessingInstructionTargetLengthExceeded',
    ],
    [
      'node depth',
      '<a><a><a><a><a><a/></a></a></a></a></a>',
      'steps.xmlthreatprotection.ExecutionFailed NodeDepthExceeded',
    ],
    ['attribute count', '<a x="1" y="2" z="3"/>', 'steps.xmlthreatprotection.ExecutionFailed AttributeCountExceeded'],
    [
      'namespace count',
      '<a xmlns="u" xmlns:p="v" xmlns:q="w"/>',
      'steps.xmlthreatprotection.ExecutionFailed NamespaceCountExceeded',
    ],
    ['child count', '<a><b/><b/><b/><b/><b/></a>', 'steps.xmlthreatprotection.ExecutionFailed ChildCountExceeded'],
    ['text', `<a>${'t'.repeat(21)}</a>`, 'steps.xmlthreatprotection.ExecutionFailed TextLengthExceeded'],
    [
      'CDATA text',
      `<a><![CDATA[${'t'.repeat(21)}]]></a>`,
      'steps.xmlthreatprotection.ExecutionFailed TextLengthExceeded',
    ],
    [
      'attribute value',
      `<a x="${'v'.repeat(11)}"/>`,
      'steps.xmlthreatprotection.ExecutionFailed AttributeValueLengthExceeded',
    ],
    [
      'namespace URI',
      `<a xmlns="urn:${'u'.repeat(30)}"/>`,
      'steps.xmlthreatprotection.ExecutionFailed NamespaceURILengthExceeded',
    ],
    ['comment', `<a><!--${'c'.repeat(11)}--></a>`, 'steps.xmlthreatprotection.ExecutionFailed CommentLengthExceeded'],
    [
      'processing instruction data',
      `<a><?pi ${'d'.repeat(11)}?></a>`,
      'steps.xmlthreatprotection.ExecutionFailed ProcessingInstructionDataLengthExceeded',
    ],
    ['DOCTYPE', '<!DOCTYPE a><a/>', 'steps.xmlthreatprotection.ExecutionFailed DTDNotAllowed'],
  ])('rejects a document over the %s limit', (_what, body, code) => {
    expect(outcome(body)).toBe(code);
  });

  it.each([
    '<a>',
    '<a></b>',
    '<a/><b/>',
    'text',
    '<a x=1/>',
    '<a x="1" x="2"/>',
    '<a><!-- open</a>',
    ' <',
    '<a>&bogus;</a>',
    '<a>AT&T</a>',
    '<a x="&lol;"/>',
    '<a x="<"/>',
    '</a>',
  ])('rejects malformed XML %j as ExecutionFailed', (body) => {
    expect(outcome(body)).toBe('steps.xmlthreatprotection.ExecutionFailed ExecutionFailed');
  });

  it('passes an empty body (nothing to check)', () => {
    expect(outcome('')).toBe('pass');
  });

  it('accepts predefined entities and character references', () => {
    expect(outcome('<a x="&#65;">&lt;&gt;&amp;&apos;&#x263A;</a>', 'application/xml', {})).toBe('pass');
  });

  it('checks only XML content types', () => {
    expect(outcome('<!DOCTYPE a><a/>', 'application/json')).toBe('pass');
    expect(outcome('<!DOCTYPE a><a/>', 'text/plain')).toBe('pass');
  });

  it('enforces no limit that is not configured', () => {
    expect(outcome(`<a>${'<b/>'.repeat(100)}</a>`, 'application/xml', { structureLimits: { nodeDepth: 3 } })).toBe(
      'pass',
    );
  });
});

describe('XMLThreatProtection: however the content type is spelled', () => {
  const dtd = '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>';
  const guard = xmlThreatProtectionPolicy.create(config, { namespace: 'shop', name: 'xml-guard' });
  const run = (opts: PolicyContextOptions) => {
    try {
      void guard(makePolicyContext({ method: 'POST', body: dtd, ...opts }));
      return 'pass';
    } catch (error) {
      const fault = toPolicyFault(error);
      return `${fault.status} ${threatOutcome(fault)}`;
    }
  };

  it.each([
    'application/xml',
    'text/xml',
    'TEXT/XML; charset=ISO-8859-1',
    ' application/soap+xml ; action="urn:x" ',
    'application/atom+xml',
    'image/svg+xml',
  ])('checks a body declared %j', (contentType) => {
    expect(run({ contentType })).toBe('400 steps.xmlthreatprotection.ExecutionFailed DTDNotAllowed');
  });

  it('checks an untyped body that looks like XML', () => {
    expect(run({})).toBe('400 steps.xmlthreatprotection.ExecutionFailed DTDNotAllowed');
    expect(run({ body: '\uFEFF <a><b></a>' })).toBe('400 steps.xmlthreatprotection.ExecutionFailed ExecutionFailed');
    expect(run({ body: 'a=<b>' })).toBe('pass');
  });

  it('refuses lists, repeated and malformed Content-Types', () => {
    expect(run({ contentType: 'application/xml, text/plain' })).toBe('400 protocol.http.DuplicateHeader');
    expect(run({ headers: { 'content-type': ['text/plain', 'text/xml'] } })).toBe('400 protocol.http.DuplicateHeader');
    expect(run({ contentType: 'xml' })).toBe('400 gatehouse.InvalidContentType');
  });
});
