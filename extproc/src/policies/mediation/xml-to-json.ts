// XMLToJSON (docs/policies.md#xmltojson): an XML document to JSON with Apigee's options. The document
// is parsed by xml.ts's scan, which refuses DOCTYPE (no entity is ever declared or expanded) and bounds
// depth before any node is built; the mapping walks the DOM with an explicit stack, builds objects
// without a prototype (an element named `__proto__` or `constructor` is an ordinary member), and the
// JSON is bounded in size. The conversion is the task `xml.toJson` (workers/tasks.ts), so a large body
// converts on the worker pool.
import type {
  XMLToJSONConfig,
  XmlToJsonFormat,
  XmlToJsonOptions,
} from '../../../../protos/policies/mediation/xml-to-json.ts';
import { decodeBody } from '../../flow/message.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { parseXmlDocument, XmlViolation, type XmlNode } from '../xml.ts';
import { conversionStep, outputBound, type ConversionResult } from './conversion.ts';

const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;
const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

/** Apigee's <Format> presets (the XMLToJSON reference, "Format"); options given beside one win. */
const FORMATS: Record<XmlToJsonFormat, XmlToJsonOptions> = {
  'xml.com': { recognizeNull: true, textNodeName: '#text', attributePrefix: '@' },
  yahoo: { recognizeNumber: true, textNodeName: 'content' },
  google: { textNodeName: '$t', namespaceSeparator: '$', textAlwaysAsProperty: true },
  badgerFish: {
    textNodeName: '$',
    textAlwaysAsProperty: true,
    attributePrefix: '@',
    namespaceSeparator: ':',
    namespaceBlockName: '@xmlns',
    defaultNamespaceNodeName: '$',
  },
};

export function resolveXmlToJsonOptions(config: Pick<XMLToJSONConfig, 'format' | 'options'>): XmlToJsonOptions {
  return { ...(config.format ? FORMATS[config.format] : {}), ...config.options };
}

type Json = string | number | boolean | null | JsonObject | Json[];
interface JsonObject {
  [key: string]: Json;
}

/** An object with no prototype: any element or attribute name is an ordinary own member. */
const record = (): JsonObject => Object.create(null) as JsonObject;

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

class XmlToJsonMapper {
  private readonly o: XmlToJsonOptions;
  private readonly textNodeName: string;
  private readonly arrays: Map<string, boolean>;

  constructor(options: XmlToJsonOptions) {
    this.o = options;
    this.textNodeName = options.textNodeName ?? '#text';
    this.arrays = new Map((options.treatAsArray ?? []).map((p) => [p.path.replace(/^\/+|\/+$/g, ''), !!p.unwrap]));
  }

  /** A name as the JSON spells it: `prefix{separator}local` with a separator, else the local name. */
  private key(node: XmlNode): string {
    const local = node.localName ?? node.nodeName;
    return node.prefix && this.o.namespaceSeparator !== undefined
      ? `${node.prefix}${this.o.namespaceSeparator}${local}`
      : local;
  }

  private scalar(text: string): Json {
    if (this.o.recognizeNumber && NUMBER.test(text)) {
      const n = Number(text);
      if (Number.isFinite(n)) return n;
    }
    if (this.o.recognizeBoolean && (text === 'true' || text === 'false')) return text === 'true';
    return text;
  }

  private empty(): Json {
    if (!this.o.recognizeNull) return record();
    return this.o.nullValue ?? null;
  }

  /** The whole document: `{root: value}`, then stripLevels. Iterative: depth costs no call frames. */
  map(root: XmlNode): Json {
    const rootKey = this.key(root);
    interface Frame {
      node: XmlNode;
      path: string;
      /** Children's values by key, in first-seen order; a key seen twice holds an array. */
      members: Map<string, Json[]>;
      texts: string[];
      /** How many member keys preceded the first text: where the text member goes, as in the document. */
      textAt: number;
      child: XmlNode | null;
      key: string;
    }
    const open = (node: XmlNode, path: string, key: string): Frame => ({
      node,
      path,
      members: new Map(),
      texts: [],
      textAt: 0,
      child: node.firstChild,
      key,
    });
    const stack: Frame[] = [open(root, rootKey, rootKey)];
    let result: Json = null;
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const child = frame.child;
      if (child) {
        frame.child = child.nextSibling;
        if (child.nodeType === ELEMENT) {
          const key = this.key(child);
          // Paths matter only to treatAsArray: without it, no string is built per element.
          stack.push(open(child, this.arrays.size > 0 ? `${frame.path}/${key}` : '', key));
        } else if ((child.nodeType === TEXT || child.nodeType === CDATA) && child.nodeValue!.trim() !== '') {
          if (frame.texts.length === 0) frame.textAt = frame.members.size;
          frame.texts.push(child.nodeValue!);
        }
        continue;
      }
      stack.pop();
      const value = this.finish(frame.node, frame.path, frame.members, frame.texts, frame.textAt);
      const parent = stack[stack.length - 1];
      if (!parent) {
        result = value;
        break;
      }
      const list = parent.members.get(frame.key);
      if (list) list.push(value);
      else parent.members.set(frame.key, [value]);
    }
    const top = record();
    top[rootKey] = this.arrays.has(rootKey) ? [result] : result;
    return this.strip(top);
  }

  /** One element's value from its attributes, namespace declarations, children and text. */
  private finish(node: XmlNode, path: string, members: Map<string, Json[]>, texts: string[], textAt: number): Json {
    const out = record();
    let hasMembers = false;
    const attributes = record();
    let hasAttributes = false;
    const namespaces = record();
    let hasNamespaces = false;
    for (let i = 0; i < (node.attributes?.length ?? 0); i++) {
      const a = node.attributes!.item(i)!;
      if (a.namespaceURI === XMLNS_NAMESPACE) {
        if (this.o.namespaceBlockName === undefined) continue;
        const prefix = a.prefix === null ? (this.o.defaultNamespaceNodeName ?? '$default') : a.localName!;
        namespaces[prefix] = a.nodeValue ?? '';
        hasNamespaces = true;
        continue;
      }
      attributes[`${this.o.attributePrefix ?? ''}${this.key(a)}`] = this.scalar(a.nodeValue ?? '');
      hasAttributes = true;
    }
    if (hasNamespaces) {
      out[this.o.namespaceBlockName!] = namespaces;
      hasMembers = true;
    }
    if (hasAttributes) {
      if (this.o.attributeBlockName !== undefined) out[this.o.attributeBlockName] = attributes;
      else Object.assign(out, attributes);
      hasMembers = true;
    }
    const text: Json | undefined =
      texts.length === 0 ? undefined : texts.length === 1 ? this.scalar(texts[0]!) : texts.map((t) => this.scalar(t));
    if (text !== undefined && members.size === 0 && !hasMembers && !this.o.textAlwaysAsProperty) return text;
    let index = 0;
    for (const [key, values] of members) {
      if (index++ === textAt && text !== undefined) out[this.textNodeName] = text;
      const treat = this.arrays.size > 0 ? this.arrays.get(`${path}/${key}`) : undefined;
      // unwrap: an element whose only content is this one array becomes the array.
      if (treat === true && members.size === 1 && !hasMembers && text === undefined) return values;
      out[key] = values.length > 1 || treat !== undefined ? values : values[0]!;
      hasMembers = true;
    }
    if (text !== undefined && !(this.textNodeName in out)) out[this.textNodeName] = text;
    if (text !== undefined) hasMembers = true;
    return hasMembers ? out : this.empty();
  }

  /** stripLevels: each level goes only while it is an object of exactly one member. */
  private strip(value: Json): Json {
    let current = value;
    for (let level = 0; level < (this.o.stripLevels ?? 0); level++) {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) break;
      const keys = Object.keys(current);
      if (keys.length !== 1) break;
      current = current[keys[0]!]!;
    }
    return current;
  }
}

/** XML text to JSON text with the options; throws XmlViolation for a document that is not acceptable XML. */
export function xmlToJson(text: string, options: XmlToJsonOptions): string {
  if (text.trim() === '') throw new XmlViolation('ExecutionFailed', 'the input is empty');
  const document = parseXmlDocument(text);
  const root = document.documentElement;
  if (!root) throw new XmlViolation('ExecutionFailed', 'no root element');
  const json = JSON.stringify(new XmlToJsonMapper(options).map(root));
  return `${options.outputPrefix ?? ''}${json}${options.outputSuffix ?? ''}`;
}

/** The task `xml.toJson`: a pure function of serialisable input, run inline or on a worker. */
export function xmlToJsonTask(input: { body: Uint8Array; options: XmlToJsonOptions }): ConversionResult {
  try {
    const output = xmlToJson(decodeBody(input.body), input.options);
    const bound = outputBound(input.body.length);
    if (output.length > bound) return { error: `the JSON would exceed ${bound} characters` };
    return { output };
  } catch (error) {
    if (error instanceof XmlViolation) return { error: error.message };
    throw error;
  }
}

export const xmlToJsonPolicy: PolicyImplementation<XMLToJSONConfig> = {
  type: 'XMLToJSON',
  create(config, meta) {
    const options = resolveXmlToJsonOptions(config);
    return conversionStep({
      type: 'XMLToJSON',
      meta,
      source: config.source,
      outputVariable: config.outputVariable,
      inputKind: 'xml',
      outputContentType: 'application/json',
      convert: (ctx, body) => ctx.offload.run('xml.toJson', { body, options }),
    });
  },
};
