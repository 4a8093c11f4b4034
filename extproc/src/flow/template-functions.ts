// The message template functions (Apigee's function reference, docs/policies-templates.md), evaluated
// on already parsed calls (protos/policies/templates.ts checked their names, arity and literal
// arguments). A result of undefined means "unresolved": the template renders "" there, as for an unset
// variable. Nothing here throws on bad input: a value from a variable that a function cannot use (a
// regex RE2 refuses, text that is not JSON, an index that is not a number) is unresolved too.
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { RE2JS } from 're2js';
import { jsonPathProblem, re2Problem } from '../../../protos/policies/checks.ts';
import type { TemplateArg, TemplateFunction } from '../../../protos/policies/templates.ts';
import { compileTimeFormat, type TimeFormatter } from '../../../protos/policies/time-format.ts';
import { compileJsonPath, jsonValueText, type CompiledJsonPath } from '../policies/json-path.ts';
import { parseXmlDocument, serializeXmlNode, xpathStringValue, XmlNode, type XmlDocument } from '../policies/xml.ts';
import { parseJsonText } from './message.ts';

/** An argument's value: a literal, or the variable's text (its `:default` when unset). */
export type ResolveArg = (arg: TemplateArg) => string | undefined;

/** A small cache per kind of expression a variable may carry (literals are compiled once, like these). */
class BoundedCache<T> {
  private readonly map = new Map<string, T>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(key: string, make: () => T): T {
    let value = this.map.get(key);
    if (value === undefined) {
      value = make();
      if (this.map.size >= this.max) this.map.clear();
      this.map.set(key, value);
    }
    return value;
  }
}

const regexes = new BoundedCache<RE2JS | null>(256);
const jsonPaths = new BoundedCache<CompiledJsonPath | null>(256);
const xpaths = new BoundedCache<XPathExpression | null>(256);
const timeFormats = new BoundedCache<TimeFormatter | null>(256);

const INTEGER = /^-?\d{1,19}$/;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function integer(value: string | undefined): bigint | undefined {
  if (value === undefined || !INTEGER.test(value)) return undefined;
  const n = BigInt(value);
  return n < LONG_MIN || n > LONG_MAX ? undefined : n;
}

// ---- escaping ---------------------------------------------------------------------------------

/** Text as the content of a JSON string literal: quotes, backslashes, controls, U+2028/9 escaped. */
export function jsonStringContent(value: string): string {
  return JSON.stringify(value)
    .slice(1, -1)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Characters XML 1.0 cannot carry at all, even escaped (controls, lone surrogates, U+FFFE/F). */
const NOT_XML_10 = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
/** What XML 1.1 cannot carry: NUL, lone surrogates, U+FFFE/F. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what XML 1.1 restricts
const NOT_XML_11 = /[^\u0001-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
/** XML 1.0 characters escaped as references rather than written (C1 controls but NEL). */
const XML_10_REFERENCED = /[\u007F-\u0084\u0086-\u009F]/g;
/** XML 1.1's restricted characters, written as references. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what XML 1.1 restricts
const XML_11_REFERENCED = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F]/g;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const charRef = (c: string) => `&#${c.codePointAt(0)};`;

/** escapeXML: the five XML entities, for XML 1.0 (unrepresentable characters dropped). */
export function escapeXml10(value: string): string {
  return value
    .replace(NOT_XML_10, '')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!)
    .replace(XML_10_REFERENCED, charRef);
}

/** escapeXML11: as escapeXML, for XML 1.1 (restricted controls written as character references). */
export function escapeXml11(value: string): string {
  return value
    .replace(NOT_XML_11, '')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!)
    .replace(XML_11_REFERENCED, charRef);
}

/** encodeHTML: ampersand, angle brackets, quote and apostrophe as HTML entities. */
export function encodeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => (c === "'" ? '&#39;' : ENTITIES[c]!));
}

/**
 * Characters a parser rewrites as line ends (CR; NEL and U+2028 in XML 1.1, and U+2029 too in parsers
 * such as xmldom): written as references so a value reads back as it was.
 */
const LINE_ENDS = /[\r\u0085\u2028\u2029]/g;

/** Element text: markup characters as entities (">" too, so "]]>" cannot appear). */
export function xmlText(value: string): string {
  return value
    .replace(NOT_XML_10, '')
    .replace(/[&<>]/g, (c) => ENTITIES[c]!)
    .replace(LINE_ENDS, charRef);
}

/** An attribute value in either quotes; tabs and line breaks as references so they survive normalisation. */
export function xmlAttribute(value: string): string {
  return value
    .replace(NOT_XML_10, '')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!)
    .replace(/[\t\n\r\u0085\u2028\u2029]/g, charRef);
}

/** Inside <![CDATA[ ]]>: "]]>" splits the section, so the text survives and nothing escapes it. */
export function xmlCdata(value: string): string {
  return value
    .replace(NOT_XML_10, '')
    .replaceAll(']]>', ']]]]><![CDATA[>')
    .replace(LINE_ENDS, (c) => `]]>${charRef(c)}<![CDATA[`);
}

/** Inside <!-- -->: no "--", and no hyphen at either edge that could join the comment's own. */
export function xmlComment(value: string): string {
  return value
    .replace(NOT_XML_10, '')
    .replace(/-(?=-)/g, '- ')
    .replace(/^-/, ' -')
    .replace(/-$/, '- ');
}

// ---- the functions ----------------------------------------------------------------------------

const HASH_ALGORITHMS: Record<string, string> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
};

function hash(fn: string, value: string): string {
  const hex = fn.endsWith('Hex');
  const algorithm = HASH_ALGORITHMS[fn.slice(0, hex ? -3 : -6)]!;
  return createHash(algorithm)
    .update(value, 'utf8')
    .digest(hex ? 'hex' : 'base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Standard Base64 (Base64URL and whitespace refused, as Java's basic decoder refuses them). */
function decodeBase64(value: string): Buffer | undefined {
  if (!BASE64.test(value) || value.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(value, 'base64');
}

function hmac(fn: string, args: (string | undefined)[]): string | undefined {
  const [key, message, keyEncoding = 'utf-8', outputEncoding = 'base64'] = args;
  if (key === undefined || message === undefined) return undefined;
  let keyBytes: Buffer | undefined;
  switch (keyEncoding.toLowerCase()) {
    case 'utf-8':
      keyBytes = Buffer.from(key, 'utf8');
      break;
    case 'hex':
    case 'base16':
      keyBytes = HEX.test(key) ? Buffer.from(key, 'hex') : undefined;
      break;
    case 'base64':
      keyBytes = decodeBase64(key);
      break;
  }
  const output = outputEncoding.toLowerCase();
  if (!keyBytes || !['hex', 'base16', 'base64'].includes(output)) return undefined;
  const algorithm = HASH_ALGORITHMS[fn.slice(4).toLowerCase()]!;
  return createHmac(algorithm, keyBytes)
    .update(message, 'utf8')
    .digest(output === 'base64' ? 'base64' : 'hex');
}

function substring(value: string | undefined, start: string | undefined, end: string | undefined): string | undefined {
  const from = integer(start);
  const to = end === undefined ? BigInt(value?.length ?? 0) : integer(end);
  if (value === undefined || from === undefined || to === undefined) return undefined;
  // Negative indexes count from the end (Apigee: substring(alpha,-8,-4) is STUV); out of range clamps.
  return value.slice(Number(from), Number(to));
}

function replace(all: boolean, value: string | undefined, regex: string | undefined, replacement: string | undefined) {
  if (value === undefined || regex === undefined || replacement === undefined) return undefined;
  const compiled = regexes.get(regex, () => (re2Problem(regex) ? null : RE2JS.compile(regex)));
  if (!compiled) return undefined;
  try {
    const matcher = compiled.matcher(value);
    // Java's rules for the replacement, as Apigee's String.replaceAll: $n is a group, \x a literal x.
    return all ? matcher.replaceAll(replacement, true) : matcher.replaceFirst(replacement, true);
  } catch {
    return undefined; // "$9" with no ninth group
  }
}

function timeFormat(fn: string, format: string | undefined, time: string | undefined): string | undefined {
  const value = integer(time);
  if (format === undefined || value === undefined) return undefined;
  const formatter = timeFormats.get(format, () => {
    try {
      return compileTimeFormat(format);
    } catch {
      return null;
    }
  });
  // timeFormat and timeFormatUTC take seconds, the *Ms variants milliseconds; all render UTC (Apigee
  // deprecated the local-time-zone behaviour of timeFormat and timeFormatMs).
  const ms = fn.endsWith('Ms') ? value : value * 1000n;
  if (ms > 8_640_000_000_000_000n || ms < -8_640_000_000_000_000n) return undefined;
  return formatter?.format(Number(ms));
}

/** A uniformly random signed 64-bit integer in [min, max). */
function randomLong(min: string | undefined, max: string | undefined, count: number): string | undefined {
  if (count === 0) return randomBytes(8).readBigInt64BE().toString();
  const low = integer(min);
  const high = count === 2 ? integer(max) : LONG_MAX;
  if (low === undefined || high === undefined || low >= high) return undefined;
  const range = high - low;
  const limit = (2n ** 64n / range) * range; // rejection sampling keeps it uniform
  for (;;) {
    const draw = randomBytes(8).readBigUInt64BE();
    if (draw < limit) return (low + (draw % range)).toString();
  }
}

/** Whether the path can select more than one value (wildcards, descendants, slices, unions, filters). */
const INDEFINITE_PATH = /\*|\.\.|\[[^\]]*[,:?]/;

function jsonPath(path: string | undefined, json: string | undefined, wantArray: string | undefined) {
  if (path === undefined || json === undefined) return undefined;
  const compiled = jsonPaths.get(path, () => (jsonPathProblem(path) ? null : compileJsonPath(path)));
  if (!compiled) return undefined;
  let document: unknown;
  try {
    document = parseJsonText(json); // the message model's bounds: nesting depth, no prototype keys
  } catch {
    return undefined;
  }
  const matches = compiled.values(document);
  if (matches.length === 0) return undefined;
  // Apigee returns one value for interpolation, the zeroth of a result set, unless want-array is true.
  const result: unknown = INDEFINITE_PATH.test(path) ? matches : matches[0];
  if (!Array.isArray(result)) return jsonValueText(result);
  if (wantArray === 'true') return JSON.stringify(result);
  return result.length === 0 ? undefined : jsonValueText(result[0]);
}

interface XPathResult {
  nodeset?: () => { toArray(): unknown[] };
  stringValue(): string;
  numberValue(): number;
  booleanValue(): boolean;
}
interface XPathExpression {
  evaluate(options: { node: XmlNode; namespaces?: Record<string, string> }): XPathResult;
}
// Loaded like extproc/src/policies/xml.ts loads it (its .d.ts would pull the DOM lib into the program).
const xpathParse = (createRequire(import.meta.url)('xpath') as { parse: (e: string) => XPathExpression }).parse;
/** A selected node as markup: ours serialised, xpath.js's own namespace nodes as their URI. */
const markup = (node: unknown) => (node instanceof XmlNode ? serializeXmlNode(node) : xpathStringValue(node));

function nodes(result: XPathResult): unknown[] | undefined {
  if (typeof result.nodeset !== 'function') return undefined;
  try {
    return result.nodeset().toArray();
  } catch {
    return undefined;
  }
}

function xpath(values: (string | undefined)[]): string | undefined {
  const [expression, xml, ...rest] = values;
  if (expression === undefined || xml === undefined) return undefined;
  const compiled = xpaths.get(expression, () => {
    try {
      return xpathParse(expression);
    } catch {
      return null;
    }
  });
  if (!compiled) return undefined;
  let document: XmlDocument;
  try {
    document = parseXmlDocument(xml); // the policies' bounds: no DOCTYPE, bounded depth
  } catch {
    return undefined;
  }
  // The third argument is a namespace when it has a colon, else the result type; the rest are namespaces.
  const namespaces: Record<string, string> = {};
  let type = 'nodeset';
  rest.forEach((value, i) => {
    if (value === undefined) return;
    const colon = value.indexOf(':');
    if (colon > 0) namespaces[value.slice(0, colon)] = value.slice(colon + 1);
    else if (i === 0) type = value.toLowerCase();
  });
  let result: XPathResult;
  try {
    result = compiled.evaluate({ node: document, namespaces });
  } catch {
    return undefined; // an unknown prefix, a function XPath 1.0 does not have
  }
  switch (type) {
    case 'string':
      return result.stringValue();
    case 'number':
      return String(result.numberValue());
    case 'boolean':
      return String(result.booleanValue());
    case 'node': {
      const first = nodes(result)?.[0];
      return first ? markup(first) : result.stringValue() || undefined;
    }
    default: {
      // nodeset (and any other type): the selected nodes as markup, or the scalar an expression computes.
      const selected = nodes(result);
      if (!selected) return result.stringValue();
      return selected.length === 0 ? undefined : selected.map(markup).join('');
    }
  }
}

/** Evaluates one call; undefined when it resolves to nothing. */
export function callTemplateFunction(
  fn: TemplateFunction,
  args: TemplateArg[],
  resolve: ResolveArg,
): string | undefined {
  if (fn === 'firstnonnull') {
    for (const arg of args) {
      const value = resolve(arg);
      if (value !== undefined) return value;
    }
    return undefined;
  }
  const values = args.map(resolve);
  const [a, b, c] = values;
  switch (fn) {
    case 'createUuid':
      return randomUUID();
    case 'randomLong':
      return randomLong(a, b, args.length);
    case 'substring':
      return substring(a, b, c);
    case 'replaceAll':
      return replace(true, a, b, c);
    case 'replaceFirst':
      return replace(false, a, b, c);
    case 'timeFormat':
    case 'timeFormatMs':
    case 'timeFormatUTC':
    case 'timeFormatUTCMs':
      return timeFormat(fn, a, b);
    case 'hmacMd5':
    case 'hmacSha1':
    case 'hmacSha224':
    case 'hmacSha256':
    case 'hmacSha384':
    case 'hmacSha512':
      return hmac(fn, values);
    case 'jsonPath':
      return jsonPath(a, b, c);
    case 'xpath':
    case 'xPath':
      return xpath(values);
  }
  if (a === undefined) return undefined;
  switch (fn) {
    case 'encodeBase64':
      return Buffer.from(a, 'utf8').toString('base64');
    case 'decodeBase64':
      return decodeBase64(a)?.toString('utf8');
    case 'toUpperCase':
      return a.toUpperCase();
    case 'toLowerCase':
      return a.toLowerCase();
    case 'escapeJSON':
      return jsonStringContent(a);
    case 'escapeXML':
      return escapeXml10(a);
    case 'escapeXML11':
      return escapeXml11(a);
    case 'encodeHTML':
      return encodeHtml(a);
    default:
      return hash(fn, a);
  }
}
