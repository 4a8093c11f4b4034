// <MessageValidation> -> SOAPMessageValidation (docs/policies.md#soapmessagevalidation). The XSD or WSDL
// ResourceURL names (xsd://name, wsdl://name under apiproxy/resources/) is read from the bundle and put
// inline as `schema`; one the compiler would refuse (xs:include, a DOCTYPE, ...) is reported and the
// policy not converted.
import { schemaResourceProblems } from '../../../../protos/policies/mediation/soap-message-validation.ts';
import { compact, messageSource, type PolicyConverter } from './support.ts';

const versions = ['1.1', '1.2', '1.1/1.2'];

export const soapMessageValidationConverter: PolicyConverter = {
  type: 'MessageValidation',
  gatehouseType: 'SOAPMessageValidation',
  resourceSchemes: ['xsd', 'wsdl'],
  convert(el, ctx) {
    const soap = el.child('SOAPMessage');
    let soapMessage: { version?: string } | undefined;
    if (soap) {
      const version = soap.attr('version');
      if (version !== undefined && !versions.includes(version))
        ctx.unsupported(`${soap.xpath}/@version`, `SOAP version "${version}" is not one of ${versions.join(', ')}`);
      soapMessage = compact({ version: version && versions.includes(version) ? version : undefined });
    }
    const elements = el.all('Element').flatMap((e) => {
      if (e.text === '') {
        ctx.unsupported(e.xpath, 'an <Element> without a name');
        return [];
      }
      const namespace = e.attr('namespace');
      return [compact({ name: e.text, namespace: namespace === '' ? undefined : namespace })];
    });
    const urlEl = el.child('ResourceURL');
    let resourceURL = urlEl?.text === '' ? undefined : urlEl?.text;
    let schema: string | undefined;
    if (urlEl && resourceURL) {
      schema = ctx.resource(resourceURL, urlEl.xpath);
      if (schema === undefined) return undefined;
      const problems = schemaResourceProblems(schema, resourceURL.startsWith('wsdl://'));
      if (problems.length > 0) {
        ctx.unsupported(urlEl.xpath, problems.map((p) => p.message).join('; '));
        return undefined;
      }
    } else resourceURL = undefined;
    return compact({
      source: messageSource(el.child('Source'), ctx),
      soapMessage,
      elements: elements.length > 0 ? elements : undefined,
      resourceURL,
      schema,
    });
  },
};
