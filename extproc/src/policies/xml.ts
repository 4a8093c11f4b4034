// XML for policies, safely (DESIGN 10): a forward scanner that checks every XMLThreatProtection limit
// without building a tree and refuses DOCTYPE outright (so no entity is ever declared, let alone
// expanded, and no external resource is ever named), and a DOM for XPath that is only built after
// that scan has bounded the document's depth.
import { createRequire } from 'node:module';
import { DOMParser, type Document, type Node } from '@xmldom/xmldom';
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

  constructor(text: string, limits: XmlLimits) {
    this.text = text;
    this.limits = limits;
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
    if (content.trim() === '') return;
    if (this.stack.length === 0) this.fail('text outside the root element');
    this.checkReferences(content);
    this.check(content.length, this.limits.text, 'TextLengthExceeded', 'text length');
    this.addChild();
  }

  private cdata(): void {
    const end = this.expect(']]>', this.pos + 9, 'unterminated CDATA section');
    if (this.stack.length === 0) this.fail('CDATA outside the root element');
    this.check(end - this.pos - 9, this.limits.text, 'TextLengthExceeded', 'text length');
    this.addChild();
    this.pos = end + 3;
  }

  private comment(): void {
    const end = this.expect('-->', this.pos + 4, 'unterminated comment');
    this.check(end - this.pos - 4, this.limits.comment, 'CommentLengthExceeded', 'comment length');
    this.addChild();
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
  }

  private startTag(): void {
    this.pos++;
    const name = this.name();
    if (this.stack.length === 0 && this.sawRoot) this.fail('more than one root element');
    this.addChild();
    this.sawRoot = true;
    this.checkQualifiedName(name, this.limits.elementName, 'ElementNameLengthExceeded', 'element name length');
    this.check(this.stack.length + 1, this.limits.nodeDepth, 'NodeDepthExceeded', 'node depth');
    const seen = new Set<string>();
    let attributes = 0;
    let namespaces = 0;
    for (;;) {
      const hadSpace = this.skipWhitespace();
      if (this.text.startsWith('/>', this.pos)) {
        this.pos += 2;
        return;
      }
      if (this.text.charCodeAt(this.pos) === 0x3e) {
        this.pos++;
        this.stack.push({ name, children: 0 });
        return;
      }
      if (!hadSpace) this.fail(`bad start tag <${name}`);
      const attribute = this.name();
      if (seen.has(attribute)) this.fail(`duplicate attribute ${attribute}`);
      seen.add(attribute);
      const value = this.attributeValue();
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

/** A DOM for XPath, built only from a document that passed the scan (no DOCTYPE, bounded depth). */
export function parseXmlDocument(text: string): Document {
  scanXml(text, { ...NO_XML_LIMITS, nodeDepth: MAX_XPATH_DOCUMENT_DEPTH });
  const parser = new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') throw new XmlViolation('ExecutionFailed', `Malformed XML: ${message}`);
    },
  });
  return parser.parseFromString(text, 'text/xml');
}

export interface CompiledXPath {
  /** String values of what the expression selects: one per node, or the one scalar result. */
  values(document: Document): string[];
}

interface XPathEvaluator {
  evaluate(options: { node: Node; namespaces?: Record<string, string> }): {
    nodeset?: () => { toArray(): Node[] };
    stringValue(): string;
  };
}

// Loaded through require with a local type: xpath's own .d.ts pulls the DOM lib into the whole
// program (`/// <reference lib="dom" />`), which clashes with Node's WebCrypto types elsewhere.
const xpathParse = (createRequire(import.meta.url)('xpath') as { parse: (expression: string) => XPathEvaluator }).parse;

/** Parses an XPath 1.0 expression once; throws (a plain Error from the library) when it is not one. */
export function compileXPath(expression: string, namespaces: Record<string, string> = {}): CompiledXPath {
  const evaluator = xpathParse(expression);
  return {
    values(document) {
      const result = evaluator.evaluate({ node: document, namespaces });
      const nodes = nodeList(result);
      if (!nodes) return [result.stringValue()];
      return nodes.map((node) => node.textContent ?? node.nodeValue ?? '');
    },
  };
}

function nodeList(result: ReturnType<XPathEvaluator['evaluate']>): Node[] | undefined {
  if (typeof result.nodeset !== 'function') return undefined;
  try {
    return result.nodeset().toArray();
  } catch {
    return undefined; // a scalar result (string(), count(), ...) has no node set
  }
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
