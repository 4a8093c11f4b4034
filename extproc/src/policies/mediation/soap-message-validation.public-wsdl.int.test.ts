// SOAPMessageValidation against a schema and a message written by others: the Person WSDL and its
// sample SOAP response from SOAP-WSDL's examples (Debian package libsoap-wsdl-perl; Copyright
// 2004-2009 Martin Kutter, 2014 Scott Walters; Artistic or GPL-1+). They are read from the installed
// package, not copied here; the test skips where the package cannot be installed (e2e/env/debian.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureDebianPackage } from '../../../../e2e/env/debian.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import { soapMessageValidationPolicy } from './soap-message-validation.ts';

const examples = '/usr/share/doc/libsoap-wsdl-perl/examples/wsdl';
const installed = ensureDebianPackage('libsoap-wsdl-perl', `${examples}/Person.wsdl`);

describe.skipIf(!installed)('SOAPMessageValidation on SOAP-WSDL’s Person service', () => {
  function validate(body: string): string {
    const step = soapMessageValidationPolicy.create(
      {
        soapMessage: { version: '1.1' },
        elements: [{ name: 'ListPersonResponse', namespace: 'http://www.example.org/benchmark/' }],
        resourceURL: 'wsdl://Person.wsdl',
        schema: readFileSync(`${examples}/Person.wsdl`, 'utf8'),
      },
      { namespace: 'bank', name: 'validate-person' },
    );
    const ctx = makePolicyContext({
      method: 'GET',
      response: { status: 200, headers: { 'content-type': 'text/xml' }, body },
    });
    try {
      void step(ctx);
      return 'pass';
    } catch (error) {
      if (!(error instanceof PolicyFault)) throw error;
      return `${error.errorCode}: ${error.message}`;
    }
  }

  const sample = () => readFileSync(`${examples}/person.xml`, 'utf8');

  it('passes the package’s sample response', () => {
    expect(validate(sample())).toBe('pass');
  });

  it('fails it once a typed value is broken or a required element is gone', () => {
    expect(validate(sample().replace('<ID>1</ID>', '<ID>one</ID>'))).toMatch(
      /^steps\.messagevalidation\.Failed: .*ID/s,
    );
    expect(validate(sample().replace(/<Name>[^<]*<\/Name>/, ''))).toMatch(
      /^steps\.messagevalidation\.Failed: .*GivenName/s,
    );
    expect(validate(sample().replace('1970-01-01', '01/01/1970'))).toMatch(/DateOfBirth/);
  });
});
