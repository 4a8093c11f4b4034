// SOAPMessageValidation: checks a message is well-formed XML, optionally a SOAP 1.1 or 1.2 envelope,
// optionally that its root (or Body) elements are among those listed, and optionally that they are
// valid against an XSD given inline or the schemas inside an inline WSDL's <types>
// (docs/policies.md#soapmessagevalidation). The resource is checked here, at compile time and again at
// extproc's create(): no DOCTYPE, and no xs:include, xs:redefine, xs:override or xs:import with a
// schemaLocation, so a schema never names a file or a URL to load.
import type { PolicyTypeSpec } from '../index.ts';
import { inlineTextProblems, messageName, textOrConfigMap, type ConfigMapRef, type ConfigProblem } from '../schema.ts';
import { MAX_XML_RESOURCE_CHARS, readXmlResource } from './xml-resource.ts';

export const XSD_NAMESPACE = 'http://www.w3.org/2001/XMLSchema';
export const WSDL_NAMESPACE = 'http://schemas.xmlsoap.org/wsdl/';
export const SOAP11_NAMESPACE = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NAMESPACE = 'http://www.w3.org/2003/05/soap-envelope';

export type SOAPVersion = '1.1' | '1.2' | '1.1/1.2';

export interface SOAPMessageValidationConfig {
  source?: 'request' | 'response';
  /** Present: the message must be a SOAP envelope of this version; absent: any XML document. */
  soapMessage?: { version?: SOAPVersion };
  /** The root element (or, for SOAP, every Body child) must be one of these. */
  elements?: Array<{ name: string; namespace?: string }>;
  /** xsd://name or wsdl://name; absent: well-formedness (and envelope) checks only. */
  resourceURL?: string;
  /** The XSD, or the WSDL whose <types> hold the schemas; required with resourceURL. */
  schema?: string;
  /** Instead of schema: a key of a ConfigMap of the namespace (resolved by the operator). */
  configMapRef?: ConfigMapRef;
}

/** Whether a resourceURL names a WSDL (else an XSD). */
export function isWsdl(resourceURL: string): boolean {
  return resourceURL.startsWith('wsdl://');
}

/** Problems with an inline XSD or WSDL, each naming the field; empty when it is acceptable. */
export function schemaResourceProblems(text: string, wsdl: boolean, path = 'schema'): ConfigProblem[] {
  const read = readXmlResource(text);
  if ('problem' in read) return [{ path, message: `the ${wsdl ? 'WSDL' : 'XSD'} is not usable: ${read.problem}` }];
  const [root] = read.elements;
  const problems: ConfigProblem[] = [];
  if (wsdl && (root?.namespace !== WSDL_NAMESPACE || root.localName !== 'definitions')) {
    return [
      { path, message: `a wsdl:// resource must be a WSDL 1.1 document (wsdl:definitions in ${WSDL_NAMESPACE})` },
    ];
  }
  if (!wsdl && (root?.namespace !== XSD_NAMESPACE || root.localName !== 'schema')) {
    return [{ path, message: `an xsd:// resource must be an XML Schema (xs:schema in ${XSD_NAMESPACE})` }];
  }
  const schemas = read.elements.filter((e) => e.namespace === XSD_NAMESPACE && e.localName === 'schema');
  if (schemas.length === 0) problems.push({ path, message: 'the WSDL has no xs:schema in its <types>' });
  for (const element of read.elements) {
    if (element.namespace !== XSD_NAMESPACE) continue;
    if (['include', 'redefine', 'override'].includes(element.localName)) {
      problems.push({ path, message: `xs:${element.localName} is not allowed: the schema must be self-contained` });
    }
    if (element.localName === 'import' && element.attributes.schemaLocation !== undefined) {
      problems.push({
        path,
        message:
          'xs:import with a schemaLocation is not allowed: import by namespace only, with the schema in the same WSDL',
      });
    }
  }
  return problems;
}

function validateSoapMessageValidation(config: SOAPMessageValidationConfig): ConfigProblem[] {
  const pending = inlineTextProblems(soapMessageValidation.schema, config);
  if (pending.length > 0) return pending;
  if (config.resourceURL === undefined) {
    return config.schema === undefined
      ? []
      : [{ path: 'schema', message: 'needs a resourceURL (xsd:// or wsdl://) saying what it is' }];
  }
  if (config.schema === undefined)
    return [{ path: 'schema', message: `required with resourceURL ${config.resourceURL}` }];
  return schemaResourceProblems(config.schema, isWsdl(config.resourceURL));
}

export const soapMessageValidation: PolicyTypeSpec = {
  type: 'SOAPMessageValidation',
  member: 'soapMessageValidation',
  group: 'mediation',
  schema: textOrConfigMap(
    {
      type: 'object',
      description:
        'SOAPMessageValidation: checks an XML body is well-formed, optionally a SOAP 1.1/1.2 envelope, and optionally valid against an inline XSD or the schemas of an inline WSDL. A failure is steps.messagevalidation.Failed (500). Apigee: <MessageValidation>.',
      properties: {
        source: {
          ...messageName,
          description:
            'The message checked: request or response; default the message of the phase the step runs in. Apigee: <Source>.',
        },
        soapMessage: {
          type: 'object',
          description:
            'Present: the body must be a SOAP envelope, and the Body children are what is validated. Apigee: <SOAPMessage>.',
          properties: {
            version: {
              type: 'string',
              enum: ['1.1', '1.2', '1.1/1.2'],
              description: 'The SOAP versions accepted; default 1.1/1.2 (either). Apigee: version.',
            },
          },
        },
        elements: {
          type: 'array',
          maxItems: 64,
          description:
            'The elements accepted as the root (or, with soapMessage, as Body children); absent: any. Apigee: <Element namespace>.',
          items: {
            type: 'object',
            required: ['name'],
            description:
              'One element: its local name and namespace (absent: no namespace). Apigee: <Element namespace="...">name</Element>.',
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 256, description: 'The local name.' },
              namespace: { type: 'string', maxLength: 1024, description: 'The namespace URI.' },
            },
          },
        },
        resourceURL: {
          type: 'string',
          pattern: '^(xsd|wsdl)://[A-Za-z0-9_.-]+$',
          maxLength: 256,
          description:
            'xsd://name (schema is an XSD) or wsdl://name (schema is a WSDL whose <types> hold the schemas); absent: well-formedness only. Apigee: <ResourceURL>.',
        },
        schema: {
          type: 'string',
          minLength: 1,
          maxLength: MAX_XML_RESOURCE_CHARS,
          description:
            'The XSD or WSDL resourceURL names, inline; or configMapRef. Checked at compile time: well-formed, no DOCTYPE, no xs:include/xs:redefine, xs:import only by namespace.',
        },
      },
    },
    'schema',
  ),
  needsBody: (config, phase) => ((config as SOAPMessageValidationConfig).source ?? phase) === phase,
  validate: (config) => validateSoapMessageValidation(config as SOAPMessageValidationConfig),
};
