// The XSD check the compiler cannot make (docs/policies.md#soapmessagevalidation). The compile layer is
// pure and loads no libxml2 (docs/layering.md), so it checks an XSD's shape (well-formed, no DOCTYPE,
// no include or located import) but not whether libxml2 compiles it: a schema naming an unknown type
// would first fail when extproc loads the snapshot. The admission webhook compiles an inline schema
// (an XSD, or each schema of a WSDL's <types>) with the same libxml2 extproc uses and refuses it naming
// the field. A schema given by configMapRef is the ConfigMap's: the webhook does not see it.
import { XmlDocument, XmlElement, XmlLibError, XsdValidator } from 'libxml2-wasm';
import { WSDL_NAMESPACE } from '../../../protos/policies/mediation/soap-message-validation.ts';

const XSD_NAMESPACE = 'http://www.w3.org/2001/XMLSchema';
/** XML_PARSE_NONET only, as extproc parses it: no entities, no DTD loading, no network. */
const PARSE_OPTIONS = { option: 2048 };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function detail(error: unknown): string {
  if (error instanceof XmlLibError && error.details.length > 0)
    return error.details
      .slice(0, 3)
      .map((d) => `${d.message.trim()}${d.line ? ` (line ${d.line})` : ''}`)
      .join('; ');
  return error instanceof Error ? error.message : String(error);
}

/** An xs:schema of a WSDL as a document of its own, with the namespaces it inherits declared. */
function standalone(schema: XmlElement): string {
  const text = schema.toString();
  const declared = schema.nsDeclarations;
  const inherited = Object.entries(schema.namespaces).filter(([p]) => !(p in declared) && p !== 'xml');
  const declarations = inherited
    .map(([p, uri]) => ` ${p === '' ? 'xmlns' : `xmlns:${p}`}="${uri.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`)
    .join('');
  const nameEnd = text.search(/[\s/>]/);
  return text.slice(0, nameEnd) + declarations + text.slice(nameEnd);
}

/** Why libxml2 does not compile the schema, or undefined when it does. */
export function xsdCompileProblem(text: string, wsdl: boolean): string | undefined {
  try {
    const sources: string[] = [];
    if (wsdl) {
      const doc = XmlDocument.fromString(text, PARSE_OPTIONS);
      try {
        for (const node of doc.find('/wsdl:definitions/wsdl:types/xs:schema', {
          wsdl: WSDL_NAMESPACE,
          xs: XSD_NAMESPACE,
        }))
          if (node instanceof XmlElement) sources.push(standalone(node));
      } finally {
        doc.dispose();
      }
    } else sources.push(text);
    for (const source of sources) {
      const doc = XmlDocument.fromString(source, PARSE_OPTIONS);
      try {
        XsdValidator.fromDoc(doc).dispose();
      } finally {
        doc.dispose();
      }
    }
    return undefined;
  } catch (error) {
    return `the ${wsdl ? 'WSDL' : 'XSD'} does not compile: ${detail(error)}`;
  }
}

/** The problem of an ApiPolicy's inline SOAPMessageValidation schema, as {field, message}, if any. */
export function policySchemaProblem(object: unknown): { field: string; message: string } | undefined {
  const spec = isRecord(object) && isRecord(object.spec) ? object.spec : undefined;
  const config = spec?.type === 'SOAPMessageValidation' ? spec.soapMessageValidation : undefined;
  if (!isRecord(config) || typeof config.schema !== 'string' || typeof config.resourceURL !== 'string')
    return undefined;
  const message = xsdCompileProblem(config.schema, config.resourceURL.startsWith('wsdl://'));
  return message === undefined ? undefined : { field: 'spec.soapMessageValidation.schema', message };
}
