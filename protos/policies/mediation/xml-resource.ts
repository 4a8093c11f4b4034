// XML resources a policy config carries inline (an XSLT stylesheet, an XSD, a WSDL): checked at compile
// time and again at extproc's create() with the same code, before any XSLT or XSD engine sees them.
// DOCTYPE is refused outright (no entity is ever declared, so none is expanded and none names a file
// or URL: docs/policies.md#xsltransform), and the walk gives each element its namespace so that the
// policies can refuse includes, imports and document() by what they are, not by how they are spelled.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The most characters an inline resource may have (the CRD's maxLength says the same). */
export const MAX_XML_RESOURCE_CHARS = 262_144;

/** The deepest element nesting an inline resource may have. */
export const MAX_XML_RESOURCE_DEPTH = 64;

export interface XmlResourceElement {
  /** Namespace URI ('' for none). */
  namespace: string;
  localName: string;
  /** Attributes by their name as written (prefix:local). */
  attributes: Record<string, string>;
  /** Namespace declarations in scope, prefix ('' for the default) -> URI. */
  namespaces: Record<string, string>;
  depth: number;
}

/** Why `text` is not an acceptable XML resource, or its elements (the root first, then breadth-first). */
export function readXmlResource(text: string): { problem: string } | { elements: XmlResourceElement[] } {
  if (text.length > MAX_XML_RESOURCE_CHARS) return { problem: `longer than ${MAX_XML_RESOURCE_CHARS} characters` };
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return { problem: 'DOCTYPE and entity declarations are not allowed' };
  const valid = XMLValidator.validate(text);
  if (valid !== true) return { problem: `not well-formed XML: ${valid.err.msg} (line ${valid.err.line})` };
  const tree = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    processEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
  }).parse(text) as OrderedNode[];
  const elements: XmlResourceElement[] = [];
  const queue: Array<{ nodes: OrderedNode[]; namespaces: Record<string, string>; depth: number }> = [
    { nodes: tree, namespaces: { xml: 'http://www.w3.org/XML/1998/namespace' }, depth: 1 },
  ];
  while (queue.length > 0) {
    const { nodes, namespaces, depth } = queue.shift()!;
    const children: Array<{ nodes: OrderedNode[]; namespaces: Record<string, string>; depth: number }> = [];
    for (const node of nodes) {
      const name = Object.keys(node).find((k) => k !== ':@');
      if (!name || name === '#text' || name === '#comment' || name === '#cdata' || name.startsWith('?')) continue;
      if (depth > MAX_XML_RESOURCE_DEPTH) return { problem: `nested deeper than ${MAX_XML_RESOURCE_DEPTH} elements` };
      const attributes = node[':@'] ?? {};
      const scope = { ...namespaces };
      for (const [attr, value] of Object.entries(attributes)) {
        if (attr === 'xmlns') scope[''] = value;
        else if (attr.startsWith('xmlns:')) scope[attr.slice(6)] = value;
      }
      const colon = name.indexOf(':');
      const prefix = colon < 0 ? '' : name.slice(0, colon);
      const namespace = scope[prefix];
      if (prefix !== '' && namespace === undefined) return { problem: `element ${name} uses an undeclared prefix` };
      elements.push({
        namespace: namespace ?? '',
        localName: name.slice(colon + 1),
        attributes,
        namespaces: scope,
        depth,
      });
      children.push({ nodes: node[name] as OrderedNode[], namespaces: scope, depth: depth + 1 });
    }
    queue.push(...children);
  }
  return { elements };
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };
