// Apigee bundle XML, parsed with fast-xml-parser into a small element tree that remembers which
// attributes and children a converter read: what it never read is an option without a counterpart,
// and the importer reports it (docs/import.md: never silent). No DOCTYPE is accepted, so no entity is
// ever defined or expanded; the five predefined entities and character references are decoded.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ImportXmlError } from './errors.ts';

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

export class XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own text (its text children joined), untrimmed. */
  readonly rawText: string;
  /** `/Quota/Allow[2]`: the XPath of this element in its file. */
  readonly xpath: string;
  /** The parsed nodes under this element, in document order (for innerXml). */
  private readonly nodes: readonly OrderedNode[];
  private readonly readAttrs = new Set<string>();
  private readonly readChildren = new Set<XmlElement>();

  constructor(
    name: string,
    attrs: Record<string, string>,
    children: XmlElement[],
    rawText: string,
    xpath: string,
    nodes: readonly OrderedNode[] = [],
  ) {
    this.nodes = nodes;
    this.name = name;
    this.attrs = attrs;
    this.children = children;
    this.rawText = rawText;
    this.xpath = xpath;
  }

  /** The trimmed text; '' when empty. */
  get text(): string {
    return this.rawText.trim();
  }

  attr(name: string): string | undefined {
    this.readAttrs.add(name);
    const v = this.attrs[name];
    return v === undefined ? undefined : v.trim();
  }

  /** The first child of this name, marked read. */
  child(name: string): XmlElement | undefined {
    const c = this.children.find((e) => e.name === name);
    if (c) this.readChildren.add(c);
    return c;
  }

  /** Every child of this name (every child when no name), marked read. */
  all(name?: string): XmlElement[] {
    const cs = this.children.filter((e) => name === undefined || e.name === name);
    for (const c of cs) this.readChildren.add(c);
    return cs;
  }

  /** The trimmed text of the first child of this name, or undefined when absent or empty. */
  childText(name: string): string | undefined {
    const t = this.child(name)?.text;
    return t === undefined || t === '' ? undefined : t;
  }

  /** No attributes, no children, no text. */
  isEmpty(): boolean {
    return Object.keys(this.attrs).length === 0 && this.children.length === 0 && this.rawText.trim() === '';
  }

  /** The content as XML text (elements and text in document order), for payloads written as XML. */
  innerXml(): string {
    this.consume();
    return serialize(this.nodes);
  }

  /** Marks this element and everything below it as read (a converter that took it as a whole). */
  consume(): this {
    for (const a of Object.keys(this.attrs)) this.readAttrs.add(a);
    for (const c of this.children) {
      this.readChildren.add(c);
      c.consume();
    }
    return this;
  }

  /** Marks an attribute read without using it (one that is handled elsewhere or means nothing here). */
  ignore(...attrs: string[]): this {
    for (const a of attrs) this.readAttrs.add(a);
    return this;
  }

  /**
   * What no converter read, below and including this element: attributes as `xpath/@name`,
   * elements by their XPath (an unread element is listed once, not its descendants).
   */
  unread(): { xpath: string; what: string }[] {
    const out: { xpath: string; what: string }[] = [];
    for (const a of Object.keys(this.attrs))
      if (!this.readAttrs.has(a) && !a.startsWith('xmlns')) out.push({ xpath: `${this.xpath}/@${a}`, what: `@${a}` });
    for (const c of this.children) {
      if (this.readChildren.has(c)) out.push(...c.unread());
      // An empty element (<FaultRules/>, <Properties/>: Apigee's editor writes them) says nothing.
      else if (!c.isEmpty()) out.push({ xpath: c.xpath, what: `<${c.name}>` });
    }
    return out;
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: true,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
});

const MAX_DEPTH = 64;

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, '&quot;');

function serialize(nodes: readonly OrderedNode[]): string {
  return nodes
    .map((n) => {
      if ('#text' in n) return escapeText(String(n['#text']));
      if ('#comment' in n) return '';
      const name = tagOf(n);
      const attrs = Object.entries(n[':@'] ?? {})
        .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
        .join('');
      const inner = serialize((n[name] as OrderedNode[] | undefined) ?? []);
      return inner === '' ? `<${name}${attrs}/>` : `<${name}${attrs}>${inner}</${name}>`;
    })
    .join('');
}

/** One element and its subtree; `[n]` in the XPath only where a name repeats among siblings. */
function build(node: OrderedNode, xpath: string, depth: number, file: string): XmlElement {
  if (depth > MAX_DEPTH) throw new ImportXmlError(file, `elements nested deeper than ${MAX_DEPTH}`);
  const name = tagOf(node);
  const kids = (node[name] as OrderedNode[] | undefined) ?? [];
  const elements = kids.filter((k) => !('#text' in k) && !('#comment' in k));
  const counts = new Map<string, number>();
  for (const k of elements) counts.set(tagOf(k), (counts.get(tagOf(k)) ?? 0) + 1);
  const seen = new Map<string, number>();
  const children = elements.map((k) => {
    const childName = tagOf(k);
    const i = (seen.get(childName) ?? 0) + 1;
    seen.set(childName, i);
    return build(k, `${xpath}/${childName}${counts.get(childName)! > 1 ? `[${i}]` : ''}`, depth + 1, file);
  });
  const text = kids.map((k) => ('#text' in k ? String(k['#text']) : '')).join('');
  return new XmlElement(name, { ...(node[':@'] ?? {}) }, children, text, xpath, kids);
}

const tagOf = (node: OrderedNode) => Object.keys(node).find((k) => k !== ':@')!;

/** Parses one XML file of a bundle into its root element; throws ImportXmlError naming the file and line. */
export function parseXml(file: string, bytes: Uint8Array): XmlElement {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes).replace(/^\uFEFF/, '');
  // The prolog (before the root element) may hold a declaration, comments and processing instructions;
  // a DOCTYPE there could define entities, so it is refused. In element content, <!DOCTYPE is CDATA text.
  const prolog = /^(\s|<\?[\s\S]*?\?>|<!--[\s\S]*?-->)*/.exec(text)![0];
  if (/^<!DOCTYPE/i.test(text.slice(prolog.length)))
    throw new ImportXmlError(file, 'a DOCTYPE is not accepted (no entities are defined)');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new ImportXmlError(file, valid.err.msg, valid.err.line, valid.err.col);
  const nodes = parser.parse(text) as OrderedNode[];
  const roots = nodes.filter((n) => !('#text' in n) && !('#comment' in n));
  if (roots.length !== 1) throw new ImportXmlError(file, `expected one root element, found ${roots.length}`);
  return build(roots[0]!, `/${tagOf(roots[0]!)}`, 0, file);
}
