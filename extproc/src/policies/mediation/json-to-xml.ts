// JSONToXML (docs/policies.md#jsontoxml): a JSON document to XML with Apigee's options. The body's
// depth is bounded by JSONThreatProtection's scan before it is parsed (so a million nested arrays never
// reach JSON.parse); the mapping walks the value with an explicit stack and escapes every text and
// attribute value; member names that XML cannot hold are repaired with invalidCharsReplacement; the
// output is bounded in size. The conversion is the task `json.toXml` (workers/tasks.ts).
import { GatehouseError } from '../../../../lib/errors.ts';
import type { JSONToXMLConfig, JsonToXmlOptions } from '../../../../protos/policies/mediation/json-to-xml.ts';
import { decodeBody } from '../../flow/message.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { scanJsonLimits } from '../security/json-threat-protection.ts';
import { conversionStep, outputBound, type ConversionResult } from './conversion.ts';

/** Deepest JSON converted: as deep as xml.ts lets an XML document be (MAX_XPATH_DOCUMENT_DEPTH). */
export const MAX_JSON_TO_XML_DEPTH = 256;

/** Why a document cannot be converted; the step answers it with steps.jsontoxml.ExecutionFailed. */
class ConversionError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_CONVERSION', message);
  }
}

const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (text: string) =>
  escapeText(text).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
/** Characters XML 1.0 cannot carry at all, even escaped. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
/** Anything text or an attribute value must change: markup, quotes, line ends, characters XML cannot carry. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const NEEDS_WORK = /[&<>"\t\n\r\u0000-\u001f\ud800-\udfff\ufffe\uffff]/;
const text = (value: string) => (NEEDS_WORK.test(value) ? escapeText(value.replace(NOT_XML_CHAR, '\uFFFD')) : value);
const attribute = (value: string) =>
  NEEDS_WORK.test(value) ? escapeAttribute(value.replace(NOT_XML_CHAR, '\uFFFD')) : value;

/** XML 1.0 (5th edition) NameStartChar and NameChar, by code point. */
const NAME_START_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
  [0xc0, 0xd6],
  [0xd8, 0xf6],
  [0xf8, 0x2ff],
  [0x370, 0x37d],
  [0x37f, 0x1fff],
  [0x200c, 0x200d],
  [0x2070, 0x218f],
  [0x2c00, 0x2fef],
  [0x3001, 0xd7ff],
  [0xf900, 0xfdcf],
  [0xfdf0, 0xfffd],
  [0x10000, 0xeffff],
];
const NAME_RANGES: ReadonlyArray<readonly [number, number]> = [
  ...NAME_START_RANGES,
  [0x2d, 0x2e],
  [0x30, 0x39],
  [0xb7, 0xb7],
  [0x300, 0x36f],
  [0x203f, 0x2040],
];
const inRanges = (c: string, ranges: ReadonlyArray<readonly [number, number]>) => {
  const cp = c.codePointAt(0)!;
  return ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
};
/** The common case, checked at once: an ASCII name that needs no repair. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const isNameStart = (c: string) => inRanges(c, NAME_START_RANGES);
const isNameChar = (c: string) => inRanges(c, NAME_RANGES);

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Pending output: an element to write, an end tag, or text already escaped. */
type Work = { element: string; value: Json } | { close: string } | { raw: string };

class JsonToXmlMapper {
  private readonly o: JsonToXmlOptions;
  private readonly replacement: string;
  private readonly out: string[] = [];
  private length = 0;
  private readonly bound: number;

  constructor(options: JsonToXmlOptions, bound: number) {
    this.o = options;
    this.replacement = options.invalidCharsReplacement ?? '_';
    this.bound = bound;
  }

  /** Names already repaired: a document repeats its member names. */
  private readonly names = new Map<string, string>();

  /** A member name as an XML name: the namespace separator becomes ":", other bad characters the replacement. */
  name(key: string): string {
    let name = this.names.get(key);
    if (name === undefined) {
      name = this.repair(key);
      if (this.names.size < 10_000) this.names.set(key, name);
    }
    return name;
  }

  private repair(key: string): string {
    const sep = this.o.namespaceSeparator;
    const at = sep ? key.indexOf(sep) : -1;
    if (at > 0 && sep) return `${this.ncName(key.slice(0, at))}:${this.ncName(key.slice(at + sep.length))}`;
    return this.ncName(key);
  }

  private ncName(part: string): string {
    if (PLAIN_NAME.test(part)) return part;
    let out = '';
    for (const c of part) {
      if (out === '' ? isNameStart(c) : isNameChar(c)) out += c;
      else if (out === '' && isNameChar(c)) out += `${this.replacement || '_'}${c}`;
      else out += this.replacement;
    }
    return out === '' || !isNameStart(String.fromCodePoint(out.codePointAt(0)!)) ? `_${out}` : out;
  }

  private emit(s: string): void {
    this.length += s.length;
    if (this.length > this.bound) throw new ConversionError(`the XML would exceed ${this.bound} characters`);
    this.out.push(s);
  }

  private scalar(value: string | number | boolean | null): string {
    if (value === null) return this.o.nullValue ?? '';
    return text(String(value));
  }

  /** The whole document. Iterative: an explicit stack of pending work, so depth costs no call frames. */
  map(root: Json): string {
    this.emit('<?xml version="1.0" encoding="UTF-8"?>');
    const work: Work[] = [];
    const special = new Set(
      [this.o.attributeBlockName, this.o.namespaceBlockName, this.o.textNodeName].filter(
        (k): k is string => k !== undefined,
      ),
    );
    const isAttribute = (k: string) => this.o.attributePrefix !== undefined && k.startsWith(this.o.attributePrefix);
    if (Array.isArray(root)) {
      work.push({ element: this.o.arrayRootElementName ?? 'Array', value: root });
    } else if (root !== null && typeof root === 'object') {
      const keys = Object.keys(root);
      const only = keys.length === 1 ? keys[0]! : undefined;
      if (only !== undefined && !special.has(only) && !isAttribute(only) && !Array.isArray(root[only])) {
        work.push({ element: only, value: root[only]! });
      } else {
        work.push({ element: this.o.objectRootElementName ?? 'Root', value: root });
      }
    } else {
      work.push({ element: this.o.objectRootElementName ?? 'Root', value: root });
    }
    while (work.length > 0) {
      const item = work.pop()!;
      if ('raw' in item) {
        this.emit(item.raw);
        continue;
      }
      if ('close' in item) {
        this.emit(`</${item.close}>`);
        continue;
      }
      const tag = this.name(item.element);
      const value = item.value;
      if (value === null || typeof value !== 'object') {
        const content = this.scalar(value);
        this.emit(content === '' ? `<${tag}/>` : `<${tag}>${content}</${tag}>`);
        continue;
      }
      if (Array.isArray(value)) {
        // An array in an array (or at the root): its items are Item elements inside this one.
        this.emit(`<${tag}>`);
        work.push({ close: tag });
        this.pushItems(work, this.o.arrayItemElementName ?? 'Item', value);
        continue;
      }
      let attrs = '';
      const children: Array<[string, Json]> = [];
      let content = '';
      for (const [key, member] of Object.entries(value)) {
        if (key === this.o.namespaceBlockName && member !== null && typeof member === 'object') {
          for (const [prefix, uri] of Object.entries(member)) {
            const declared = prefix === this.o.defaultNamespaceNodeName ? 'xmlns' : `xmlns:${this.ncName(prefix)}`;
            attrs += ` ${declared}="${attribute(stringOf(uri))}"`;
          }
        } else if (key === this.o.attributeBlockName && member !== null && typeof member === 'object') {
          for (const [a, v] of Object.entries(member)) attrs += ` ${this.name(a)}="${attribute(stringOf(v))}"`;
        } else if (isAttribute(key)) {
          attrs += ` ${this.name(key.slice(this.o.attributePrefix!.length))}="${attribute(stringOf(member))}"`;
        } else if (key === this.o.textNodeName) {
          content += Array.isArray(member) ? member.map((m) => text(stringOf(m))).join('') : text(stringOf(member));
        } else {
          children.push([key, member]);
        }
      }
      if (children.length === 0 && content === '') {
        this.emit(`<${tag}${attrs}/>`);
        continue;
      }
      this.emit(`<${tag}${attrs}>`);
      work.push({ close: tag });
      for (let i = children.length - 1; i >= 0; i--) {
        const [key, member] = children[i]!;
        // An array member is the element repeated, once per item.
        if (Array.isArray(member)) this.pushItems(work, key, member);
        else work.push({ element: key, value: member });
      }
      if (content !== '') work.push({ raw: content });
    }
    return this.out.join('');
  }

  /** Pushes one element per item, in reverse so they come off the stack in order. */
  private pushItems(work: Work[], element: string, items: Json[]): void {
    for (let i = items.length - 1; i >= 0; i--) work.push({ element, value: items[i]! });
  }
}

function stringOf(value: Json): string {
  if (value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** JSON text to XML text; throws ConversionError for JSON that is invalid, too deep or converts too large. */
export function jsonToXml(input: string, options: JsonToXmlOptions, bound = Infinity): string {
  if (input.trim() === '') throw new ConversionError('the input is empty');
  const finding = scanJsonLimits(input, MAX_JSON_TO_XML_DEPTH);
  if (finding) throw new ConversionError(finding.message);
  return new JsonToXmlMapper(options, bound).map(JSON.parse(input) as Json);
}

/** The task `json.toXml`: a pure function of serialisable input, run inline or on a worker. */
export function jsonToXmlTask(input: { body: Uint8Array; options: JsonToXmlOptions }): ConversionResult {
  try {
    return { output: jsonToXml(decodeBody(input.body), input.options, outputBound(input.body.length)) };
  } catch (error) {
    if (error instanceof ConversionError) return { error: error.message };
    throw error;
  }
}

export const jsonToXmlPolicy: PolicyImplementation<JSONToXMLConfig> = {
  type: 'JSONToXML',
  create(config, meta) {
    const options = config.options ?? {};
    return conversionStep({
      type: 'JSONToXML',
      meta,
      source: config.source,
      outputVariable: config.outputVariable,
      inputKind: 'json',
      outputContentType: 'application/xml',
      convert: (ctx, body) => ctx.offload.run('json.toXml', { body, options }),
    });
  },
};
