// XML for policies, safely (docs/architecture.md#tests-and-quality-bars): a forward scanner that checks every XMLThreatProtection limit
// and refuses DOCTYPE outright (so no entity is ever declared, let alone expanded, and no external
// resource is ever named), and the DOM XPath runs on, built by that same scan (so its depth is bounded
// first). Everything here is linear in the document: the DOM knows each node's document order and
// string value without walking (xmldom's compareDocumentPosition and textContent walk the tree, which
// made xpath.js's sorting and every container's string value quadratic: `/a/b` over 8,000 siblings
// took over a minute), and xpath.js's node sets are deduplicated with a Set (see the adapter below).
import { createRequire } from 'node:module';
import { XMLValidator } from 'fast-xml-parser';
import { GatehouseError } from '../../../lib/errors.ts';
import type { PolicyMeta } from '../flow/types.ts';
import { PolicyConfigError } from './support.ts';

export interface XmlLimits {
  elementName: number;
  attributeName: number;
  namespacePrefix: number;
  processingInstructionTarget: number;
  nodeDepth: number;
  attributeCountPerElement: number;
  namespaceCountPerElement: number;
  childCount: number;
  text: number;
  attributeValue: number;
  namespaceURI: number;
  comment: number;
  processingInstructionData: number;
}

export const NO_XML_LIMITS: XmlLimits = {
  elementName: Infinity,
  attributeName: Infinity,
  namespacePrefix: Infinity,
  processingInstructionTarget: Infinity,
  nodeDepth: Infinity,
  attributeCountPerElement: Infinity,
  namespaceCountPerElement: Infinity,
  childCount: Infinity,
  text: Infinity,
  attributeValue: Infinity,
  namespaceURI: Infinity,
  comment: Infinity,
  processingInstructionData: Infinity,
};

/** The last part of a threat.xml.* error code. */
export type XmlViolationCode =
  | 'ElementNameLengthExceeded'
  | 'AttributeNameLengthExceeded'
  | 'NamespacePrefixLengthExceeded'
  | 'ProcessingInstructionTargetLengthExceeded'
  | 'NodeDepthExceeded'
  | 'AttributeCountExceeded'
  | 'NamespaceCountExceeded'
  | 'ChildCountExceeded'
  | 'TextLengthExceeded'
  | 'AttributeValueLengthExceeded'
  | 'NamespaceURILengthExceeded'
  | 'CommentLengthExceeded'
  | 'ProcessingInstructionDataLengthExceeded'
  | 'DTDNotAllowed'
  | 'ExecutionFailed';

/** A limit or well-formedness problem found by the scan; `violation` is the threat.xml.* suffix. */
export class XmlViolation extends GatehouseError {
  readonly violation: XmlViolationCode;
  constructor(violation: XmlViolationCode, message: string) {
    super('GH_ERR_XML_VIOLATION', message);
    this.violation = violation;
  }
}

/** What the scan reports to build a DOM: raw text and attribute values (references not yet decoded). */
interface XmlBuilder {
  open(name: string, attributes: Array<[string, string]>): void;
  close(): void;
  text(raw: string): void;
  cdata(text: string): void;
  comment(text: string): void;
  processingInstruction(target: string, data: string): void;
}

interface OpenElement {
  name: string;
  children: number;
}

const NAME = /[^\s/>=<"']+/y;
/** "&" not starting one of the five predefined entities or a character reference: without a DTD
 * nothing else can be declared, so anything else is malformed (and never expanded). */
const BAD_REFERENCE = /&(?!(?:lt|gt|amp|apos|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)/;
const WHITESPACE = /\s*/y;

/** One pass over an XML text; `scan` throws XmlViolation at the first limit or syntax problem. */
class XmlScanner {
  private pos = 0;
  private readonly stack: OpenElement[] = [];
  private sawRoot = false;
  private readonly text: string;
  private readonly limits: XmlLimits;
  private readonly builder: XmlBuilder | undefined;

  constructor(text: string, limits: XmlLimits, builder?: XmlBuilder) {
    this.text = text;
    this.limits = limits;
    this.builder = builder;
  }

  scan(): void {
    while (this.pos < this.text.length) {
      if (this.text.charCodeAt(this.pos) !== 0x3c) this.textNode();
      else if (this.text.startsWith('<?', this.pos)) this.processingInstruction();
      else if (this.text.startsWith('<!--', this.pos)) this.comment();
      else if (this.text.startsWith('<![CDATA[', this.pos)) this.cdata();
      else if (this.text.startsWith('<!', this.pos))
        throw new XmlViolation('DTDNotAllowed', 'DOCTYPE and entity declarations are not allowed');
      else if (this.text.startsWith('</', this.pos)) this.endTag();
      else this.startTag();
    }
    if (this.stack.length > 0) this.fail(`element <${this.stack[this.stack.length - 1]!.name}> is not closed`);
    if (!this.sawRoot) this.fail('no root element');
  }

  private textNode(): void {
    const end = this.indexOrEnd('<', this.pos);
    const content = this.text.slice(this.pos, end);
    this.pos = end;
    if (content.trim() === '') {
      // Whitespace between elements counts toward no limit, but it is part of the string values.
      if (this.stack.length > 0) this.builder?.text(content);
      return;
    }
    if (this.stack.length === 0) this.fail('text outside the root element');
    this.checkReferences(content);
    this.check(content.length, this.limits.text, 'TextLengthExceeded', 'text length');
    this.addChild();
    this.builder?.text(content);
  }

  private cdata(): void {
    const end = this.expect(']]>', this.pos + 9, 'unterminated CDATA section');
    if (this.stack.length === 0) this.fail('CDATA outside the root element');
    this.check(end - this.pos - 9, this.limits.text, 'TextLengthExceeded', 'text length');
    this.addChild();
    this.builder?.cdata(this.text.slice(this.pos + 9, end));
    this.pos = end + 3;
  }

  private comment(): void {
    const end = this.expect('-->', this.pos + 4, 'unterminated comment');
    this.check(end - this.pos - 4, this.limits.comment, 'CommentLengthExceeded', 'comment length');
    this.addChild();
    this.builder?.comment(this.text.slice(this.pos + 4, end));
    this.pos = end + 3;
  }

  private processingInstruction(): void {
    const end = this.expect('?>', this.pos + 2, 'unterminated processing instruction');
    const body = this.text.slice(this.pos + 2, end);
    const target = /^[^\s?]*/.exec(body)![0];
    if (target === '') this.fail('processing instruction without a target');
    const isDeclaration = target === 'xml' && this.pos === 0;
    if (!isDeclaration) {
      this.check(
        target.length,
        this.limits.processingInstructionTarget,
        'ProcessingInstructionTargetLengthExceeded',
        'processing instruction target length',
      );
      this.check(
        body.slice(target.length).trim().length,
        this.limits.processingInstructionData,
        'ProcessingInstructionDataLengthExceeded',
        'processing instruction data length',
      );
      this.addChild();
      this.builder?.processingInstruction(target, body.slice(target.length).replace(/^\s+/, ''));
    }
    this.pos = end + 2;
  }

  private endTag(): void {
    this.pos += 2;
    const name = this.name();
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== 0x3e) this.fail(`bad end tag </${name}`);
    this.pos++;
    const open = this.stack.pop();
    if (open?.name !== name) this.fail(`end tag </${name}> does not match <${open?.name ?? ''}>`);
    this.builder?.close();
  }

  private startTag(): void {
    this.pos++;
    const name = this.name();
    if (this.stack.length === 0 && this.sawRoot) this.fail('more than one root element');
    this.addChild();
    this.sawRoot = true;
    this.checkQualifiedName(name, this.limits.elementName, 'ElementNameLengthExceeded', 'element name length');
    this.check(this.stack.length + 1, this.limits.nodeDepth, 'NodeDepthExceeded', 'node depth');
    let seen: Set<string> | undefined; // made at the first attribute: most elements have none
    let attributes = 0;
    let namespaces = 0;
    const built: Array<[string, string]> | undefined = this.builder ? [] : undefined;
    for (;;) {
      const hadSpace = this.skipWhitespace();
      if (this.text.startsWith('/>', this.pos)) {
        this.pos += 2;
        this.builder?.open(name, built!);
        this.builder?.close();
        return;
      }
      if (this.text.charCodeAt(this.pos) === 0x3e) {
        this.pos++;
        this.stack.push({ name, children: 0 });
        this.builder?.open(name, built!);
        return;
      }
      if (!hadSpace) this.fail(`bad start tag <${name}`);
      const attribute = this.name();
      seen ??= new Set();
      if (seen.has(attribute)) this.fail(`duplicate attribute ${attribute}`);
      seen.add(attribute);
      const value = this.attributeValue();
      built?.push([attribute, value]);
      if (attribute === 'xmlns' || attribute.startsWith('xmlns:')) {
        this.check(++namespaces, this.limits.namespaceCountPerElement, 'NamespaceCountExceeded', 'namespace count');
        this.check(
          attribute.length - 6,
          this.limits.namespacePrefix,
          'NamespacePrefixLengthExceeded',
          'namespace prefix length',
        );
        this.check(value.length, this.limits.namespaceURI, 'NamespaceURILengthExceeded', 'namespace URI length');
      } else {
        this.check(++attributes, this.limits.attributeCountPerElement, 'AttributeCountExceeded', 'attribute count');
        this.checkQualifiedName(
          attribute,
          this.limits.attributeName,
          'AttributeNameLengthExceeded',
          'attribute name length',
        );
        this.check(value.length, this.limits.attributeValue, 'AttributeValueLengthExceeded', 'attribute value length');
      }
    }
  }

  private attributeValue(): string {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== 0x3d) this.fail('expected "=" after an attribute name');
    this.pos++;
    this.skipWhitespace();
    const quote = this.text[this.pos];
    if (quote !== '"' && quote !== "'") this.fail('attribute value without quotes');
    const end = this.expect(quote, this.pos + 1, 'unterminated attribute value');
    const value = this.text.slice(this.pos + 1, end);
    if (value.includes('<')) this.fail('"<" in an attribute value');
    this.checkReferences(value);
    this.pos = end + 1;
    return value;
  }

  /** Checks a `prefix:local` name: the prefix against the namespace prefix limit, the local part against `limit`. */
  private checkQualifiedName(name: string, limit: number, code: XmlViolationCode, what: string): void {
    const colon = name.indexOf(':');
    if (colon >= 0)
      this.check(colon, this.limits.namespacePrefix, 'NamespacePrefixLengthExceeded', 'namespace prefix length');
    this.check(name.length - colon - 1, limit, code, what);
  }

  private checkReferences(content: string): void {
    if (content.includes('&') && BAD_REFERENCE.test(content)) this.fail('undeclared entity reference or bare "&"');
  }

  private addChild(): void {
    const parent = this.stack[this.stack.length - 1];
    if (parent) this.check(++parent.children, this.limits.childCount, 'ChildCountExceeded', 'child count');
  }

  private name(): string {
    NAME.lastIndex = this.pos;
    const match = NAME.exec(this.text);
    if (!match) this.fail('expected a name');
    this.pos = NAME.lastIndex;
    return match[0];
  }

  private skipWhitespace(): boolean {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.exec(this.text);
    const skipped = WHITESPACE.lastIndex > this.pos;
    this.pos = WHITESPACE.lastIndex;
    return skipped;
  }

  private indexOrEnd(token: string, from: number): number {
    const at = this.text.indexOf(token, from);
    return at < 0 ? this.text.length : at;
  }

  private expect(token: string, from: number, problem: string): number {
    const at = this.text.indexOf(token, from);
    if (at < 0) this.fail(problem);
    return at;
  }

  private check(value: number, limit: number, code: XmlViolationCode, what: string): void {
    if (value > limit) throw new XmlViolation(code, `Exceeded ${what}, max ${limit} allowed, found ${value}`);
  }

  private fail(reason: string): never {
    throw new XmlViolation('ExecutionFailed', `Malformed XML: ${reason}`);
  }
}

/**
 * Checks `text` against `limits` and for well-formedness; throws XmlViolation. The scanner enforces the
 * limits and tag structure first, so fast-xml-parser's validator (character-level well-formedness)
 * only ever sees a document of bounded depth.
 */
export function scanXml(text: string, limits: XmlLimits): void {
  new XmlScanner(text, limits).scan();
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlViolation('ExecutionFailed', `Malformed XML: ${valid.err.msg}`);
}

/** Depth past which a body is not turned into a DOM for XPath (XPath evaluation recurses). */
export const MAX_XPATH_DOCUMENT_DEPTH = 256;

const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';
const ELEMENT_NODE = 1;
const ATTRIBUTE_NODE = 2;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;
const DOCUMENT_NODE = 9;

/** Element attributes as xpath.js reads them: `length` and `item(i)`. */
class XmlAttributes {
  private readonly list: XmlNode[];
  constructor(list: XmlNode[]) {
    this.list = list;
  }
  get length(): number {
    return this.list.length;
  }
  item(index: number): XmlNode | null {
    return this.list[index] ?? null;
  }
  getNamedItem(name: string): XmlNode | null {
    return this.list.find((a) => a.nodeName === name) ?? null;
  }
}

const NO_ATTRIBUTES = new XmlAttributes([]);

/**
 * A node of the DOM XPath runs on: the part of the W3C DOM that xpath.js reads, plus what makes it
 * linear. `order` is the node's position in document order (an element's attributes come right after
 * it, before its children) and `end` the last position inside it, so comparing two nodes' order and
 * telling whether one contains the other are O(1). An element's string value is a slice of the
 * document's text (`textStart`..`textEnd`), which V8 makes without copying.
 */
export class XmlNode {
  readonly nodeType: number;
  readonly nodeName: string;
  readonly root: XmlDocument | undefined;
  localName: string | null = null;
  prefix: string | null = null;
  namespaceURI: string | null = null;
  parentNode: XmlNode | null = null;
  firstChild: XmlNode | null = null;
  lastChild: XmlNode | null = null;
  previousSibling: XmlNode | null = null;
  nextSibling: XmlNode | null = null;
  /** Attributes only: the element carrying them. */
  ownerElement: XmlNode | null = null;
  attributes: XmlAttributes | null = null;
  /** Text, CDATA, comment and processing-instruction data; attribute values. */
  nodeValue: string | null = null;
  order = 0;
  end = 0;
  textStart = 0;
  textEnd = 0;
  /** An element with element children (or the document): its string value spans other elements'. */
  hasElementChild = false;

  constructor(nodeType: number, nodeName: string, root: XmlDocument | undefined) {
    this.nodeType = nodeType;
    this.nodeName = nodeName;
    this.root = root;
  }

  get ownerDocument(): XmlDocument | null {
    return this.root ?? null;
  }
  get data(): string | null {
    return this.nodeValue;
  }
  get value(): string | null {
    return this.nodeValue;
  }
  get name(): string {
    return this.nodeName;
  }
  get target(): string {
    return this.nodeName;
  }
  get tagName(): string {
    return this.nodeName;
  }
  get childNodes(): XmlNode[] {
    const out: XmlNode[] = [];
    for (let n = this.firstChild; n; n = n.nextSibling) out.push(n);
    return out;
  }

  /** The XPath string value: the text under an element or the document, else the node's own value. */
  get textContent(): string {
    if (this.nodeType === ELEMENT_NODE || this.nodeType === DOCUMENT_NODE) {
      return (this.root ?? (this as unknown as XmlDocument)).text.slice(this.textStart, this.textEnd);
    }
    return this.nodeValue ?? '';
  }

  /** Whether this node's string value contains other selectable nodes' (see matchTexts). */
  get isContainer(): boolean {
    return this.nodeType === DOCUMENT_NODE || (this.nodeType === ELEMENT_NODE && this.hasElementChild);
  }

  compareDocumentPosition(other: unknown): number {
    if (other === this) return 0;
    if (!(other instanceof XmlNode) || (other.root ?? other) !== (this.root ?? this)) return 0x01 | 0x20;
    if (other.order < this.order) return this.order <= other.end ? 0x08 | 0x02 : 0x02; // other contains / precedes
    return other.order <= this.end ? 0x10 | 0x04 : 0x04; // this contains / other follows
  }

  getAttribute(name: string): string | null {
    return this.attributes?.getNamedItem(name)?.nodeValue ?? null;
  }

  getAttributeNS(namespace: string | null, localName: string): string | null {
    for (let i = 0; i < (this.attributes?.length ?? 0); i++) {
      const a = this.attributes!.item(i)!;
      if ((a.namespaceURI ?? null) === (namespace || null) && a.localName === localName) return a.nodeValue;
    }
    return null;
  }

  lookupNamespaceURI(prefix: string | null): string | null {
    if (this.nodeType !== ELEMENT_NODE) return prefix === 'xml' ? XML_NAMESPACE : null;
    const declared = this.getAttribute(prefix ? `xmlns:${prefix}` : 'xmlns');
    if (declared !== null) return declared || null;
    return this.parentNode ? this.parentNode.lookupNamespaceURI(prefix) : null;
  }
}

/** A parsed document: the DOM root, with the concatenated text that string values are slices of. */
export class XmlDocument extends XmlNode {
  text = '';
  documentElement: XmlNode | null = null;
  constructor() {
    super(DOCUMENT_NODE, '#document', undefined);
  }
  getElementById(): null {
    return null; // no DTD, so no ID attributes
  }
}

const REFERENCE = /&(?:(lt|gt|amp|apos|quot)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

function validCodePoint(c: number): boolean {
  return (
    c === 0x9 ||
    c === 0xa ||
    c === 0xd ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

/** Replaces the predefined entities and character references (the scan has refused any other `&`). */
function decodeReferences(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(
    REFERENCE,
    (_match, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
      if (named) return NAMED[named]!;
      const code = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
      if (!validCodePoint(code))
        throw new XmlViolation('ExecutionFailed', `Malformed XML: character reference ${code}`);
      return String.fromCodePoint(code);
    },
  );
}

/** Builds the DOM from the scan's events, resolving namespaces as elements open and close. */
class DomBuilder implements XmlBuilder {
  readonly document = new XmlDocument();
  private parent: XmlNode = this.document;
  private order = 0;
  private readonly parts: string[] = [];
  private length = 0;
  /** prefix ('' for the default namespace) -> the URIs bound to it, innermost last. */
  private readonly bindings = new Map<string, string[]>([['xml', [XML_NAMESPACE]]]);
  /** Per open element: the prefixes it declared, to unbind when it closes. */
  private readonly declared: string[][] = [];

  open(name: string, attributes: Array<[string, string]>): void {
    const element = new XmlNode(ELEMENT_NODE, name, this.document);
    element.order = ++this.order;
    const declared: string[] = [];
    for (const [attribute, raw] of attributes) {
      if (attribute !== 'xmlns' && !attribute.startsWith('xmlns:')) continue;
      const prefix = attribute === 'xmlns' ? '' : attribute.slice(6);
      const uri = attributeValue(raw);
      if (prefix !== '' && uri === '') this.fail(`namespace prefix ${prefix} bound to ""`);
      let stack = this.bindings.get(prefix);
      if (!stack) this.bindings.set(prefix, (stack = []));
      stack.push(uri);
      declared.push(prefix);
    }
    this.declared.push(declared);
    this.name(element, name, true);
    if (attributes.length > 0) {
      element.attributes = new XmlAttributes(
        attributes.map(([attribute, raw]) => {
          const node = new XmlNode(ATTRIBUTE_NODE, attribute, this.document);
          node.order = ++this.order;
          node.ownerElement = element;
          node.nodeValue = attributeValue(raw);
          if (attribute === 'xmlns' || attribute.startsWith('xmlns:')) {
            node.localName = attribute === 'xmlns' ? 'xmlns' : attribute.slice(6);
            node.prefix = attribute === 'xmlns' ? null : 'xmlns';
            node.namespaceURI = XMLNS_NAMESPACE;
          } else {
            this.name(node, attribute, false);
          }
          return node;
        }),
      );
    } else {
      element.attributes = NO_ATTRIBUTES;
    }
    if (this.parent.nodeType === DOCUMENT_NODE) this.document.documentElement = element;
    this.parent.hasElementChild = true;
    this.append(element);
    element.textStart = this.length;
    this.parent = element;
  }

  close(): void {
    const element = this.parent;
    element.textEnd = this.length;
    element.end = this.order;
    for (const prefix of this.declared.pop() ?? []) this.bindings.get(prefix)!.pop();
    this.parent = element.parentNode!;
  }

  text(raw: string): void {
    const value = decodeReferences(raw);
    if (value !== '') this.characters(TEXT_NODE, '#text', value);
  }

  cdata(text: string): void {
    this.characters(CDATA_SECTION_NODE, '#cdata-section', text);
  }

  comment(text: string): void {
    const node = new XmlNode(COMMENT_NODE, '#comment', this.document);
    node.nodeValue = text;
    node.order = node.end = ++this.order;
    this.append(node);
  }

  processingInstruction(target: string, data: string): void {
    const node = new XmlNode(PROCESSING_INSTRUCTION_NODE, target, this.document);
    node.nodeValue = data;
    node.order = node.end = ++this.order;
    this.append(node);
  }

  finish(): XmlDocument {
    const doc = this.document;
    doc.text = this.parts.join('');
    doc.textEnd = this.length;
    doc.end = this.order;
    return doc;
  }

  private characters(type: number, name: string, value: string): void {
    const node = new XmlNode(type, name, this.document);
    node.nodeValue = value;
    node.order = node.end = ++this.order;
    this.append(node);
    this.parts.push(value);
    this.length += value.length;
  }

  /** Sets prefix, local name and namespace of an element or a (non-xmlns) attribute. */
  private name(node: XmlNode, qualified: string, isElement: boolean): void {
    const colon = qualified.indexOf(':');
    const prefix = colon < 0 ? null : qualified.slice(0, colon);
    node.prefix = prefix;
    node.localName = colon < 0 ? qualified : qualified.slice(colon + 1);
    if (prefix === null && !isElement) return; // unprefixed attributes are in no namespace
    const uri = this.bindings.get(prefix ?? '')?.at(-1);
    if (uri === undefined && prefix !== null) this.fail(`unbound namespace prefix ${prefix}`);
    node.namespaceURI = uri || null;
  }

  private append(node: XmlNode): void {
    const parent = this.parent;
    node.parentNode = parent;
    node.previousSibling = parent.lastChild;
    if (parent.lastChild) parent.lastChild.nextSibling = node;
    else parent.firstChild = node;
    parent.lastChild = node;
  }

  private fail(reason: string): never {
    throw new XmlViolation('ExecutionFailed', `Malformed XML: ${reason}`);
  }
}

/** XML attribute-value normalisation (no DTD, so every attribute is CDATA): literal whitespace -> space. */
function attributeValue(raw: string): string {
  return decodeReferences(raw.replace(/[\t\n\r]/g, ' '));
}

/**
 * A DOM for XPath, built by the scan itself from a document that has no DOCTYPE and is at most
 * MAX_XPATH_DOCUMENT_DEPTH deep; line endings are normalised first, as XML requires. Throws XmlViolation.
 */
export function parseXmlDocument(text: string): XmlDocument {
  const normalized = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  const builder = new DomBuilder();
  new XmlScanner(normalized, { ...NO_XML_LIMITS, nodeDepth: MAX_XPATH_DOCUMENT_DEPTH }, builder).scan();
  const valid = XMLValidator.validate(normalized);
  if (valid !== true) throw new XmlViolation('ExecutionFailed', `Malformed XML: ${valid.err.msg}`);
  return builder.finish();
}

const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (text: string) =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;');

/**
 * A node of the DOM above as markup, as xmldom's XMLSerializer writes it (a template's xPath()): an
 * element with the namespace declarations its subtree needs and does not make itself, an attribute as
 * ` name="value"`, text escaped. Iterative, so as deep a subtree as the document may hold is fine.
 */
export function serializeXmlNode(node: XmlNode): string {
  if (node.nodeType === ATTRIBUTE_NODE) return ` ${node.nodeName}="${escapeAttribute(node.nodeValue ?? '')}"`;
  const out: string[] = [];
  /** prefix ('' for the default namespace) -> URI, as declared so far in the output; innermost wins. */
  const scopes: Array<Map<string, string>> = [new Map([['xml', XML_NAMESPACE]])];
  const declaredUri = (prefix: string) => {
    for (let i = scopes.length - 1; i >= 0; i--) {
      const uri = scopes[i]!.get(prefix);
      if (uri !== undefined) return uri;
    }
    return prefix === '' ? '' : undefined;
  };
  const open = (element: XmlNode) => {
    const scope = new Map<string, string>();
    const count = element.attributes?.length ?? 0;
    for (let i = 0; i < count; i++) {
      const a = element.attributes!.item(i)!;
      if (a.namespaceURI === XMLNS_NAMESPACE) scope.set(a.prefix === null ? '' : a.localName!, a.nodeValue ?? '');
    }
    scopes.push(scope);
    // A declaration the output does not carry yet (the subtree starts below it) goes before its first use.
    let attributes = '';
    const declare = (n: XmlNode) => {
      const prefix = n.prefix ?? '';
      const uri = n.namespaceURI;
      if (!uri || uri === XMLNS_NAMESPACE || declaredUri(prefix) === uri) return;
      scope.set(prefix, uri);
      attributes += ` ${prefix === '' ? 'xmlns' : `xmlns:${prefix}`}="${escapeAttribute(uri)}"`;
    };
    for (let i = 0; i < count; i++) {
      const a = element.attributes!.item(i)!;
      declare(a);
      attributes += ` ${a.nodeName}="${escapeAttribute(a.nodeValue ?? '')}"`;
    }
    declare(element);
    out.push(`<${element.nodeName}${attributes}${element.firstChild ? '>' : '/>'}`);
  };
  // Depth-first, iterative: `closing` marks an element whose children are written.
  const stack: Array<{ node: XmlNode; closing: boolean }> = [];
  if (node.nodeType === DOCUMENT_NODE) {
    for (let c = node.lastChild; c; c = c.previousSibling) stack.push({ node: c, closing: false });
  } else stack.push({ node, closing: false });
  while (stack.length > 0) {
    const { node: n, closing } = stack.pop()!;
    if (closing) {
      out.push(`</${n.nodeName}>`);
      scopes.pop();
      continue;
    }
    switch (n.nodeType) {
      case ELEMENT_NODE:
        open(n);
        if (!n.firstChild) {
          scopes.pop();
          break;
        }
        stack.push({ node: n, closing: true });
        for (let c = n.lastChild; c; c = c.previousSibling) stack.push({ node: c, closing: false });
        break;
      case TEXT_NODE:
        out.push(escapeText(n.nodeValue ?? ''));
        break;
      case CDATA_SECTION_NODE:
        out.push(`<![CDATA[${n.nodeValue ?? ''}]]>`);
        break;
      case COMMENT_NODE:
        out.push(`<!--${n.nodeValue ?? ''}-->`);
        break;
      case PROCESSING_INSTRUCTION_NODE:
        out.push(`<?${n.nodeName}${n.nodeValue ? ` ${n.nodeValue}` : ''}?>`);
        break;
    }
  }
  return out.join('');
}

// --- XPath: xpath.js (XPath 1.0) on the DOM above.

/** What an XPath expression selected: nodes in document order, or a scalar (string(), count(), ...). */
export type XPathSelection = { nodes: unknown[] } | { scalar: string };

export interface CompiledXPath {
  select(document: XmlDocument): XPathSelection;
  /** The string value of the first node selected (or the scalar result); undefined when nothing is. */
  first(document: XmlDocument): string | undefined;
  /** The string value of every node selected, or the scalar result. */
  values(document: XmlDocument): string[];
}

interface XPathResult {
  nodeset?: () => { toArray(): unknown[] };
  stringValue(): string;
}

interface XPathEvaluator {
  evaluate(options: { node: XmlNode; namespaces?: Record<string, string> }): XPathResult;
}

/** The internals of xpath.js's XNodeSet that the adapter replaces. */
interface NodeSetInternals {
  nodes: unknown[];
  size: number;
  tree: unknown;
  members?: Set<unknown> | undefined;
  init: (this: NodeSetInternals) => void;
  add: (this: NodeSetInternals, node: unknown) => void;
  toArray: (this: NodeSetInternals) => unknown[];
  first: (this: NodeSetInternals) => unknown;
  stringForContainerNode: (this: NodeSetInternals, node: unknown) => string;
}

interface XPathModule {
  parse(expression: string): XPathEvaluator;
  XNodeSet: { prototype: NodeSetInternals };
}

// Loaded through require with a local type: xpath's own .d.ts pulls the DOM lib into the whole
// program (`/// <reference lib="dom" />`), which clashes with Node's WebCrypto types elsewhere.
const xpathModule = createRequire(import.meta.url)('xpath') as XPathModule;

/** Our nodes, in document order (an array of other nodes, e.g. xpath.js's namespace nodes, is left alone). */
function inDocumentOrder(nodes: unknown[]): XmlNode[] | undefined {
  let sorted = true;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (!(node instanceof XmlNode)) return undefined;
    if (i > 0 && (nodes[i - 1] as XmlNode).order > node.order) sorted = false;
  }
  const copy = nodes.slice() as XmlNode[];
  return sorted ? copy : copy.sort((a, b) => a.order - b.order);
}

/**
 * xpath.js (0.0.34, pinned) deduplicates a node set by scanning it for every node added, O(n^2) for
 * `//*` over a large document, sorts it by inserting every node in an AVL tree through its pairwise
 * document-order comparison, and builds string values by walking the subtree. All are replaced here,
 * once, for every XNodeSet: membership by a Set, order by each node's position (a pass when already in
 * order, as a walk of one axis leaves it, else a numeric sort), and the DOM's own string value.
 */
function adaptNodeSets(proto: NodeSetInternals): void {
  const init = proto.init;
  const toArray = proto.toArray;
  const first = proto.first;
  const stringForContainerNode = proto.stringForContainerNode;
  proto.toArray = function (this: NodeSetInternals) {
    return inDocumentOrder(this.nodes) ?? toArray.call(this);
  };
  proto.first = function (this: NodeSetInternals) {
    if (!this.nodes.every((n) => n instanceof XmlNode)) return first.call(this);
    let min: XmlNode | null = null;
    for (const n of this.nodes) if (!min || n.order < min.order) min = n;
    return min;
  };
  proto.init = function (this: NodeSetInternals) {
    init.call(this);
    this.members = undefined; // made on the first add: most node sets in predicates stay empty
  };
  proto.add = function (this: NodeSetInternals, node: unknown) {
    const members = (this.members ??= new Set(this.nodes));
    if (members.has(node)) return;
    members.add(node);
    this.tree = null;
    this.nodes.push(node);
    this.size += 1;
  };
  proto.stringForContainerNode = function (this: NodeSetInternals, node: unknown) {
    return node instanceof XmlNode ? node.textContent : stringForContainerNode.call(this, node);
  };
}
adaptNodeSets(xpathModule.XNodeSet.prototype);

/** Whether the adapter is in place (tests hold it there: without it XPath is quadratic). */
export function xpathAdapted(): boolean {
  const proto = xpathModule.XNodeSet.prototype;
  return (
    proto.stringForContainerNode.toString().includes('textContent') &&
    proto.toArray.toString().includes('inDocumentOrder')
  );
}

/** The string value of anything xpath.js may select: our nodes, or its own namespace nodes. */
export function xpathStringValue(node: unknown): string {
  if (node instanceof XmlNode) return node.textContent;
  return (node as { nodeValue?: string | null }).nodeValue ?? '';
}

/** Parses an XPath 1.0 expression once; throws (a plain Error from the library) when it is not one. */
export function compileXPath(expression: string, namespaces: Record<string, string> = {}): CompiledXPath {
  const evaluator = xpathModule.parse(expression);
  const select = (document: XmlDocument): XPathSelection => {
    const result = evaluator.evaluate({ node: document, namespaces });
    const nodes = nodeList(result);
    return nodes ? { nodes } : { scalar: result.stringValue() };
  };
  return {
    select,
    first(document) {
      const selection = select(document);
      if ('scalar' in selection) return selection.scalar;
      return selection.nodes.length > 0 ? xpathStringValue(selection.nodes[0]) : undefined;
    },
    values(document) {
      const selection = select(document);
      return 'scalar' in selection ? [selection.scalar] : selection.nodes.map(xpathStringValue);
    },
  };
}

function nodeList(result: XPathResult): unknown[] | undefined {
  if (typeof result.nodeset !== 'function') return undefined;
  try {
    return result.nodeset().toArray();
  } catch {
    return undefined; // a scalar result (string(), count(), ...) has no node set
  }
}

/**
 * The texts a pattern is matched against for a selection, bounded by the document's size: every
 * selected leaf (an element without element children, text, attribute, comment) by its own string
 * value, and a selected container (an element with element children, the document) by its string
 * value only when no selected container holds it: the outer one's text contains the inner one's, so a
 * pattern found in the inner is found in the outer. Matching every nested container's text instead,
 * as a literal reading of Apigee does, is quadratic in the depth (XPath `//*` over a 250-deep 1 MiB
 * body is 130 MB of text).
 */
export function xpathMatchTexts(selection: XPathSelection): string[] {
  if ('scalar' in selection) return [selection.scalar];
  const texts: string[] = [];
  let outer: XmlNode | undefined;
  for (const node of selection.nodes) {
    if (!(node instanceof XmlNode) || !node.isContainer) {
      texts.push(xpathStringValue(node));
      continue;
    }
    if (outer && node.order <= outer.end) continue; // document order: inside the last outer container
    outer = node;
    texts.push(node.textContent);
  }
  return texts;
}

/** compileXPath for create(): a bad expression is the config's fault. */
export function compileXPathOrThrow(
  expression: string,
  namespaces: Record<string, string> | undefined,
  meta: PolicyMeta,
): CompiledXPath {
  try {
    return compileXPath(expression, namespaces);
  } catch (error) {
    throw new PolicyConfigError(meta, `XPath "${expression}" does not parse: ${(error as Error).message}`);
  }
}
