// SOAPMessageValidation (docs/policies.md#soapmessagevalidation): well-formedness, SOAP 1.1/1.2
// envelope structure, the accepted root or Body elements, and XSD validation with libxml2 compiled to
// WebAssembly (libxml2-wasm: MIT, synchronous, its file system is the module's own empty memory one,
// so a schema that named a file or URL would find nothing; the compile-time checks refuse those anyway).
// The body is scanned before libxml2 parses it (DOCTYPE refused, depth bounded), and the parse asks for
// no entity substitution, no DTD loading and no network. The check is the task `soap.validate`
// (workers/tasks.ts): a large body is validated on the worker pool.
import { XmlDocument, XmlElement, XsdValidator } from 'libxml2-wasm';
import {
  isWsdl,
  schemaResourceProblems,
  SOAP11_NAMESPACE,
  SOAP12_NAMESPACE,
  type SOAPMessageValidationConfig,
} from '../../../../protos/policies/mediation/soap-message-validation.ts';
import {
  schemaSources,
  XML_PARSE_OPTIONS,
  xmlLibErrorDetail,
} from '../../../../protos/policies/mediation/xsd-sources.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { decodeBody } from '../../flow/message.ts';
import { settle } from '../../flow/offload.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { messageOf, PolicyConfigError } from '../support.ts';
import { MAX_XPATH_DOCUMENT_DEPTH, NO_XML_LIMITS, scanXml, XmlViolation } from '../xml.ts';

const INPUT_LIMITS = { ...NO_XML_LIMITS, nodeDepth: MAX_XPATH_DOCUMENT_DEPTH };

export interface SoapValidateSpec {
  /** Accepted SOAP envelope namespaces; absent: not a SOAP check. */
  envelopes?: string[];
  elements?: Array<{ name: string; namespace?: string }>;
  /** The XSD or WSDL text and which it is; absent: no schema validation. */
  schema?: { text: string; wsdl: boolean };
}

/** Schemas by target namespace ('' for none), compiled once per resource and worker. */
type CompiledSchemas = Map<string, XsdValidator>;

const compiledByResource = new Map<string, CompiledSchemas>();
const MAX_CACHED_RESOURCES = 64;

/** Compiles an XSD, or each schema of a WSDL's <types>; throws XmlLibError on a schema that does not compile. */
export function compileSchemas(text: string, wsdl: boolean): CompiledSchemas {
  const cached = compiledByResource.get(text);
  if (cached) return cached;
  const compiled: CompiledSchemas = new Map();
  for (const source of schemaSources(text, wsdl)) {
    const doc = XmlDocument.fromString(source, XML_PARSE_OPTIONS);
    try {
      const targetNamespace = doc.root.attr('targetNamespace')?.value ?? '';
      compiled.set(targetNamespace, XsdValidator.fromDoc(doc));
    } finally {
      doc.dispose();
    }
  }
  if (compiledByResource.size >= MAX_CACHED_RESOURCES) {
    const [oldest] = compiledByResource.keys();
    for (const validator of compiledByResource.get(oldest!)!.values()) validator.dispose();
    compiledByResource.delete(oldest!);
  }
  compiledByResource.set(text, compiled);
  return compiled;
}

function elementChildren(element: XmlElement): XmlElement[] {
  const children: XmlElement[] = [];
  for (let node = element.firstChild; node; node = node.next) {
    if (node instanceof XmlElement) children.push(node);
  }
  return children;
}

function describe(element: XmlElement): string {
  return element.namespaceUri ? `{${element.namespaceUri}}${element.name}` : element.name;
}

/** The envelope's payload elements, or why it is not a SOAP envelope of an accepted version. */
function envelopePayload(root: XmlElement, envelopes: string[]): XmlElement[] | string {
  if (root.name !== 'Envelope' || !envelopes.includes(root.namespaceUri)) {
    return `Expected a SOAP ${envelopes.map((ns) => (ns === SOAP11_NAMESPACE ? '1.1' : '1.2')).join(' or ')} Envelope, found ${describe(root)}`;
  }
  const soap = root.namespaceUri;
  const children = elementChildren(root);
  let at = 0;
  if (children[at]?.namespaceUri === soap && children[at]?.name === 'Header') at++;
  const body = children[at];
  if (!body || body.namespaceUri !== soap || body.name !== 'Body') return 'The SOAP Envelope has no Body';
  const after = children.slice(at + 1);
  // SOAP 1.1 lets namespace-qualified elements follow the Body; SOAP 1.2 allows nothing after it.
  if (after.some((e) => soap === SOAP12_NAMESPACE || !e.namespaceUri || e.namespaceUri === soap)) {
    return `Unexpected ${describe(after[0]!)} after the SOAP Body`;
  }
  // A SOAP Fault is the envelope's own element: it is not checked against the message schemas.
  return elementChildren(body).filter((e) => !(e.namespaceUri === soap && e.name === 'Fault'));
}

/** The task `soap.validate`: null when the body passes, else the reason it does not. */
export function soapValidateTask(input: { body: Uint8Array; spec: SoapValidateSpec }): string | null {
  const text = decodeBody(input.body);
  try {
    scanXml(text, INPUT_LIMITS);
  } catch (error) {
    if (error instanceof XmlViolation) return error.message;
    throw error;
  }
  const { spec } = input;
  let doc: XmlDocument;
  try {
    doc = XmlDocument.fromString(text, XML_PARSE_OPTIONS);
  } catch (error) {
    return xmlLibErrorDetail(error);
  }
  try {
    const payload = spec.envelopes ? envelopePayload(doc.root, spec.envelopes) : [doc.root];
    if (typeof payload === 'string') return payload;
    if (spec.elements) {
      for (const element of payload) {
        const listed = spec.elements.some(
          (e) => e.name === element.name && (e.namespace ?? '') === element.namespaceUri,
        );
        if (!listed) return `${describe(element)} is not one of the elements this policy accepts`;
      }
    }
    if (!spec.schema) return null;
    const schemas = compileSchemas(spec.schema.text, spec.schema.wsdl);
    for (const element of payload) {
      const validator = schemas.get(element.namespaceUri);
      if (!validator) return `No schema for the namespace of ${describe(element)}`;
      try {
        if (element === doc.root) validator.validate(doc);
        else validator.validate(element);
      } catch (error) {
        return xmlLibErrorDetail(error);
      }
    }
    return null;
  } finally {
    doc.dispose();
  }
}

function specOf(config: SOAPMessageValidationConfig): SoapValidateSpec {
  const version = config.soapMessage?.version ?? '1.1/1.2';
  return {
    ...(config.soapMessage
      ? {
          envelopes: [
            ...(version.includes('1.1') ? [SOAP11_NAMESPACE] : []),
            ...(version.includes('1.2') ? [SOAP12_NAMESPACE] : []),
          ],
        }
      : {}),
    ...(config.elements ? { elements: config.elements } : {}),
    ...(config.resourceURL && config.schema
      ? { schema: { text: config.schema, wsdl: isWsdl(config.resourceURL) } }
      : {}),
  };
}

export const soapMessageValidationPolicy: PolicyImplementation<SOAPMessageValidationConfig> = {
  type: 'SOAPMessageValidation',
  create(config, meta) {
    const spec = specOf(config);
    if (spec.schema) {
      const problems = schemaResourceProblems(spec.schema.text, spec.schema.wsdl);
      if (problems.length > 0) {
        throw new PolicyConfigError(
          meta,
          problems.map((p) => `soapMessageValidation.${p.path}: ${p.message}`).join('; '),
        );
      }
      try {
        compileSchemas(spec.schema.text, spec.schema.wsdl);
      } catch (error) {
        throw new PolicyConfigError(
          meta,
          `soapMessageValidation.schema: the schema does not compile: ${xmlLibErrorDetail(error)}`,
        );
      }
    }
    const failedVariable = `messagevalidation.${meta.name}.failed`;
    return (ctx) => {
      const message = messageOf(ctx, config.source);
      if (!message || !message.body.available) {
        ctx.variables.set(failedVariable, true);
        throw new PolicyFault({
          status: 500,
          errorCode: 'steps.messagevalidation.SourceMessageNotAvailable',
          faultString: `${config.source ?? ctx.phase} message is not available for MessageValidation: ${meta.name}`,
        });
      }
      return settle(ctx.offload.run('soap.validate', { body: message.body.bytes(), spec }), (reason) => {
        ctx.variables.set(failedVariable, reason !== null);
        if (reason === null) return undefined;
        throw new PolicyFault({
          status: 500,
          errorCode: 'steps.messagevalidation.Failed',
          faultString: `${meta.name} failed with reason: "${reason}"`,
        });
      });
    };
  },
};
