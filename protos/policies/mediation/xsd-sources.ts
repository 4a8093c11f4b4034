// How a SOAPMessageValidation schema resource becomes the schemas libxml2 compiles, shared by the two
// places that compile them: extproc (policies/mediation/soap-message-validation.ts) and the operator's
// admission webhook (operator/src/admission/xsd.ts), so that the webhook refuses exactly what extproc
// could not load (docs/policies.md#soapmessagevalidation).
import { XmlDocument, XmlElement, XmlLibError } from 'libxml2-wasm';
import { WSDL_NAMESPACE, XSD_NAMESPACE } from './soap-message-validation.ts';

/** XML_PARSE_NONET only: no entities, no DTD loading, no network. */
export const XML_PARSE_OPTIONS = { option: 2048 };

/** The first libxml2 messages of an error (with their lines), else the error's message. */
export function xmlLibErrorDetail(error: unknown): string {
  if (error instanceof XmlLibError && error.details.length > 0) {
    return error.details
      .slice(0, 3)
      .map((d) => `${d.message.trim()}${d.line ? ` (line ${d.line})` : ''}`)
      .join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/** The text of an xs:schema element as a document of its own, with the namespaces it inherits declared. */
function standaloneSchema(schema: XmlElement): string {
  const text = schema.toString();
  const declared = schema.nsDeclarations;
  const inherited = Object.entries(schema.namespaces).filter(([prefix]) => !(prefix in declared) && prefix !== 'xml');
  if (inherited.length === 0) return text;
  const declarations = inherited
    .map(
      ([prefix, uri]) =>
        ` ${prefix === '' ? 'xmlns' : `xmlns:${prefix}`}="${uri.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`,
    )
    .join('');
  const nameEnd = text.search(/[\s/>]/);
  return text.slice(0, nameEnd) + declarations + text.slice(nameEnd);
}

/** The XSD itself, or each xs:schema of a WSDL's <types> as a document; throws XmlLibError on a bad WSDL. */
export function schemaSources(text: string, wsdl: boolean): string[] {
  if (!wsdl) return [text];
  const sources: string[] = [];
  const doc = XmlDocument.fromString(text, XML_PARSE_OPTIONS);
  try {
    for (const node of doc.find('/wsdl:definitions/wsdl:types/xs:schema', { wsdl: WSDL_NAMESPACE, xs: XSD_NAMESPACE }))
      if (node instanceof XmlElement) sources.push(standaloneSchema(node));
  } finally {
    doc.dispose();
  }
  return sources;
}
