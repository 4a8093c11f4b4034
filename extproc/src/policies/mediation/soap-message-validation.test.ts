import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  soapMessageValidation,
  type SOAPMessageValidationConfig,
} from '../../../../protos/policies/mediation/soap-message-validation.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { compileSchemas, soapMessageValidationPolicy } from './soap-message-validation.ts';

const meta = { namespace: 'bank', name: 'SOAP-Message-Validation-1' };

const pricesXsd = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:example:prices"
    xmlns:p="urn:example:prices" elementFormDefault="qualified">
  <xs:element name="GetPrice">
    <xs:complexType><xs:sequence>
      <xs:element name="Item" type="xs:string"/>
      <xs:element name="Quantity" type="xs:positiveInteger" minOccurs="0"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>`;

// The schema inside a WSDL's <types>, inheriting its prefix declarations from wsdl:definitions.
const pricesWsdl = `<?xml version="1.0"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:p="urn:example:prices" targetNamespace="urn:example:prices">
  <wsdl:types>
    <xs:schema targetNamespace="urn:example:prices" elementFormDefault="qualified">
      <xs:element name="GetPrice"><xs:complexType><xs:sequence>
        <xs:element name="Item" type="p:ItemName"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:simpleType name="ItemName"><xs:restriction base="xs:string"><xs:maxLength value="8"/></xs:restriction></xs:simpleType>
    </xs:schema>
  </wsdl:types>
</wsdl:definitions>`;

const soap11 = (body: string, header = '<soap:Header/>') =>
  `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">${header}<soap:Body>${body}</soap:Body></soap:Envelope>`;
const soap12 = (body: string) =>
  `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>${body}</env:Body></env:Envelope>`;
const getPrice = (item: string, extra = '') =>
  `<GetPrice xmlns="urn:example:prices"><Item>${item}</Item>${extra}</GetPrice>`;

function outcome(config: SOAPMessageValidationConfig, body: string, opts: PolicyContextOptions = {}) {
  const step = soapMessageValidationPolicy.create(config, meta);
  const ctx = makePolicyContext({ method: 'POST', body, contentType: 'text/xml', ...opts });
  try {
    void step(ctx); // inline offload: synchronous
    return { ctx, fault: undefined, result: 'pass' };
  } catch (error) {
    if (!(error instanceof PolicyFault)) throw error;
    return { ctx, fault: error, result: error.errorCode };
  }
}

const xsd: SOAPMessageValidationConfig = { soapMessage: {}, resourceURL: 'xsd://prices.xsd', schema: pricesXsd };

describe('SOAPMessageValidation', () => {
  it('passes a valid SOAP 1.1 and 1.2 request against an inline XSD, and sets failed=false', () => {
    const ok = outcome(xsd, soap11(getPrice('apple', '<Quantity>3</Quantity>')));
    expect(ok.result).toBe('pass');
    expect(ok.ctx.variables.get('messagevalidation.SOAP-Message-Validation-1.failed')).toBe(false);
    expect(outcome(xsd, soap12(getPrice('pear'))).result).toBe('pass');
  });

  it('fails a Body child the XSD refuses with steps.messagevalidation.Failed (500), naming the reason', () => {
    const bad = outcome(xsd, soap11(getPrice('apple', '<Quantity>-1</Quantity>')));
    expect(bad.fault?.errorCode).toBe('steps.messagevalidation.Failed');
    expect(bad.fault?.status).toBe(500);
    expect(bad.fault?.message).toMatch(/^SOAP-Message-Validation-1 failed with reason: ".*Quantity.*"$/s);
    expect(bad.ctx.variables.get('messagevalidation.SOAP-Message-Validation-1.failed')).toBe(true);
    expect(outcome(xsd, soap11('<GetPrice xmlns="urn:other"/>')).fault?.message).toMatch(/No schema for the namespace/);
  });

  it('validates against the schemas inside a WSDL <types> (wsdl://), with inherited prefixes', () => {
    const wsdl: SOAPMessageValidationConfig = {
      soapMessage: { version: '1.1' },
      resourceURL: 'wsdl://prices.wsdl',
      schema: pricesWsdl,
    };
    expect(outcome(wsdl, soap11(getPrice('short'))).result).toBe('pass');
    expect(outcome(wsdl, soap11(getPrice('much-too-long'))).result).toBe('steps.messagevalidation.Failed');
  });

  it.each([
    ['not an envelope', getPrice('x'), /Expected a SOAP 1.1 or 1.2 Envelope, found \{urn:example:prices\}GetPrice/],
    [
      'no Body',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/></soap:Envelope>',
      /no Body/,
    ],
    [
      'Body before Header',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/><soap:Header/></soap:Envelope>',
      /after the SOAP Body/,
    ],
    [
      'a SOAP 1.2 envelope with anything after the Body',
      '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/><x:y xmlns:x="urn:x"/></e:Envelope>',
      /after the SOAP Body/,
    ],
  ])('refuses %s', (_name, body, reason) => {
    const r = outcome({ soapMessage: {} }, body);
    expect(r.result).toBe('steps.messagevalidation.Failed');
    expect(r.fault?.message).toMatch(reason);
  });

  it('accepts only the SOAP version configured', () => {
    expect(outcome({ soapMessage: { version: '1.2' } }, soap11(getPrice('x'))).result).toBe(
      'steps.messagevalidation.Failed',
    );
    expect(outcome({ soapMessage: { version: '1.1' } }, soap12(getPrice('x'))).result).toBe(
      'steps.messagevalidation.Failed',
    );
    expect(outcome({ soapMessage: { version: '1.1/1.2' } }, soap12(getPrice('x'))).result).toBe('pass');
  });

  it('lets a SOAP Fault through unchecked by the message schemas', () => {
    const fault = '<soap:Fault><faultcode>soap:Server</faultcode><faultstring>down</faultstring></soap:Fault>';
    expect(outcome(xsd, soap11(fault)).result).toBe('pass');
  });

  it('checks the root (or Body children) against the Element list', () => {
    const elements = [{ name: 'GetPrice', namespace: 'urn:example:prices' }];
    expect(outcome({ soapMessage: {}, elements }, soap11(getPrice('x'))).result).toBe('pass');
    const other = outcome({ soapMessage: {}, elements }, soap11('<GetStock xmlns="urn:example:prices"/>'));
    expect(other.fault?.message).toMatch(/GetStock is not one of the elements/);
    expect(outcome({ elements: [{ name: 'order' }] }, '<order/>').result).toBe('pass');
    expect(outcome({ elements: [{ name: 'order' }] }, '<o:order xmlns:o="urn:o"/>').result).toBe(
      'steps.messagevalidation.Failed',
    );
  });

  it('validates a plain XML document (no soapMessage) as a whole against the XSD', () => {
    const plain: SOAPMessageValidationConfig = { resourceURL: 'xsd://prices.xsd', schema: pricesXsd };
    expect(outcome(plain, getPrice('x')).result).toBe('pass');
    expect(outcome(plain, '<GetPrice xmlns="urn:example:prices"/>').result).toBe('steps.messagevalidation.Failed');
  });

  it('checks well-formedness only without a resourceURL', () => {
    expect(outcome({}, '<any><thing/></any>').result).toBe('pass');
    expect(outcome({}, '<any><thing></any>').result).toBe('steps.messagevalidation.Failed');
    expect(outcome({}, '{"json":true}', { contentType: 'application/json' }).result).toBe(
      'steps.messagevalidation.Failed',
    );
  });

  it('a response source in the request flow is SourceMessageNotAvailable, as Apigee words it', () => {
    const r = outcome({ source: 'response' }, '<a/>');
    expect(r.fault?.errorCode).toBe('steps.messagevalidation.SourceMessageNotAvailable');
    expect(r.fault?.message).toBe('response message is not available for MessageValidation: SOAP-Message-Validation-1');
  });

  it('refuses at compile time a schema that is not an XSD or WSDL, naming the field', () => {
    const v = soapMessageValidation.validate!;
    expect(v({ resourceURL: 'xsd://a', schema: '<xs:schema' })[0]).toMatchObject({ path: 'schema' });
    expect(v({ resourceURL: 'xsd://a', schema: pricesWsdl })[0]?.message).toMatch(/must be an XML Schema/);
    expect(v({ resourceURL: 'wsdl://a', schema: pricesXsd })[0]?.message).toMatch(/must be a WSDL/);
    expect(v({ resourceURL: 'xsd://a' })[0]?.message).toMatch(/required with resourceURL/);
    expect(v({ schema: pricesXsd })[0]?.message).toMatch(/needs a resourceURL/);
    // Well-formed, but not a schema libxml2 compiles: refused when extproc loads it.
    const broken = pricesXsd.replace('type="xs:positiveInteger"', 'type="p:NoSuchType"');
    expect(() => soapMessageValidationPolicy.create({ resourceURL: 'xsd://a', schema: broken }, meta)).toThrow(
      /soapMessageValidation\.schema: the schema does not compile/,
    );
  });
});

describe('SOAPMessageValidation attacks: refused or inert, never a file read or a network call', () => {
  const schemaWith = (inner: string, decl = '') =>
    `${decl}<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">${inner}<xs:element name="a" type="xs:string"/></xs:schema>`;

  it.each([
    ['xs:include', schemaWith('<xs:include schemaLocation="file:///etc/passwd"/>'), /xs:include is not allowed/],
    [
      'xs:import with a remote schemaLocation',
      schemaWith('<xs:import namespace="urn:x" schemaLocation="http://169.254.169.254/x.xsd"/>'),
      /xs:import with a schemaLocation/,
    ],
    ['xs:redefine', schemaWith('<xs:redefine schemaLocation="/etc/passwd"/>'), /xs:redefine is not allowed/],
    ['an external entity', schemaWith('', '<!DOCTYPE xs:schema [<!ENTITY x SYSTEM "file:///etc/passwd">]>'), /DOCTYPE/],
  ])('refuses a schema with %s at compile time and at extproc load', (_name, schema, message) => {
    const config = { resourceURL: 'xsd://evil', schema };
    expect(
      soapMessageValidation.validate!(config)
        .map((p) => p.message)
        .join('; '),
    ).toMatch(message);
    expect(() => soapMessageValidationPolicy.create(config, meta)).toThrow(message);
  });

  it('cannot read a file even past the compile-time check: libxml2 sees only its own empty file system', () => {
    // Straight to the compiler: an include of a valid schema file on this machine does not compile,
    // because libxml2 cannot open it (were it read, the include would succeed).
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-xsd-'));
    const included = join(dir, 'included.xsd');
    writeFileSync(included, schemaWith('').replace('name="a"', 'name="b"'));
    const include = schemaWith(`<xs:include schemaLocation="${included}"/>`);
    expect(() => compileSchemas(include, false)).toThrow();
    rmSync(dir, { recursive: true });
    const redefine = schemaWith('<xs:import namespace="urn:x" schemaLocation="file:///etc/passwd"/>');
    // An import that cannot be loaded is only a warning to libxml2: the schema compiles without it.
    const compiled = compileSchemas(redefine, false);
    expect([...compiled.keys()]).toEqual(['urn:t']);
  });

  it.each([
    ['an external entity', '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'],
    [
      'billion laughs',
      '<!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;</l>',
    ],
    ['a document 10,000 elements deep', `${'<d>'.repeat(10_000)}${'</d>'.repeat(10_000)}`],
    [
      'an xsi:schemaLocation pointing at a file',
      '<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:t file:///etc/passwd">x</a>',
    ],
  ])('answers steps.messagevalidation.Failed, or validates inertly, for %s', (_name, body) => {
    const r = outcome({ resourceURL: 'xsd://t', schema: schemaWith('') }, body);
    // The last one is a document of another namespace: refused by the schema, never loaded from a file.
    expect(r.result).toBe('steps.messagevalidation.Failed');
    expect(r.fault?.message).not.toMatch(/root:x:0/);
  });
});
