// The XSD check the compiler cannot make (docs/policies.md#soapmessagevalidation). The compile layer is
// pure and loads no libxml2 (docs/layering.md), so it checks an XSD's shape (well-formed, no DOCTYPE,
// no include or located import) but not whether libxml2 compiles it: a schema naming an unknown type
// would first fail when extproc loads the snapshot. The admission webhook compiles an inline schema
// (an XSD, or each schema of a WSDL's <types>) with the same libxml2 extproc uses and refuses it naming
// the field. A schema given by configMapRef is the ConfigMap's: the webhook does not see it.
// libxml2-wasm is loaded on the first schema to check, not with the operator: its module and linear
// memory are some 16 MB of RSS that most clusters never need (docs/architecture.md#the-operator-at-scale-issue-20).

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why libxml2 does not compile the schema, or undefined when it does. */
export async function xsdCompileProblem(text: string, wsdl: boolean): Promise<string | undefined> {
  const [{ XmlDocument, XsdValidator }, { schemaSources, XML_PARSE_OPTIONS, xmlLibErrorDetail }] = await Promise.all([
    import('libxml2-wasm'),
    import('../../../protos/policies/mediation/xsd-sources.ts'),
  ]);
  try {
    for (const source of schemaSources(text, wsdl)) {
      const doc = XmlDocument.fromString(source, XML_PARSE_OPTIONS);
      try {
        XsdValidator.fromDoc(doc).dispose();
      } finally {
        doc.dispose();
      }
    }
    return undefined;
  } catch (error) {
    return `the ${wsdl ? 'WSDL' : 'XSD'} does not compile: ${xmlLibErrorDetail(error)}`;
  }
}

/** The problem of an ApiPolicy's inline SOAPMessageValidation schema, as {field, message}, if any. */
export async function policySchemaProblem(object: unknown): Promise<{ field: string; message: string } | undefined> {
  const spec = isRecord(object) && isRecord(object.spec) ? object.spec : undefined;
  const config = spec?.type === 'SOAPMessageValidation' ? spec.soapMessageValidation : undefined;
  if (!isRecord(config) || typeof config.schema !== 'string' || typeof config.resourceURL !== 'string')
    return undefined;
  const message = await xsdCompileProblem(config.schema, config.resourceURL.startsWith('wsdl://'));
  return message === undefined ? undefined : { field: 'spec.soapMessageValidation.schema', message };
}
