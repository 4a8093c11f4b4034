// Message templates, parsed once into parts that know where they sit (docs/policies-templates.md).
// Shared by both planes: the compiler validates every template field with `templateProblem` (so
// extproc never loads a template it cannot parse), extproc renders the parts (flow/templates.ts).
//
// Grammar, Apigee's (message-template-intro) with its lexical rules made exact:
//
//   template  := ( text | "{" reference "}" | literal-brace )*
//   reference := NAME [ ":" DEFAULT ] | FUNCTION "(" [ arg ( "," arg )* ] ")"
//   arg       := "'" QUOTED "'" | INTEGER | "true" | "false" | NAME [ ":" ARGDEFAULT ]
//   NAME      := [A-Za-z_][A-Za-z0-9_.-]*        DEFAULT := any text without "{" or "}"
//
// A "{" followed by a letter or "_" starts a reference; one followed by a digit, "{", "[" or "(" is an
// error (Apigee refuses those too, so "{{" is not an escape: Apigee has none); any other "{" (space,
// quote, newline, "}") is a literal brace, and literal braces must balance (except inside a JSON
// string of a JSON payload, where braces are only text). No spaces inside a function expression,
// no nested calls. Literal arguments are in single quotes (integers and true/false may go bare);
// unquoted names are variables.
//
// Context: the same single left-to-right scan tracks the payload's lexical position (JSON: inside a
// string literal or not; XML: element text, attribute value, CDATA, comment, markup), and each
// reference records it. The renderer escapes by it; `raw` parts are inserted as they are.
import { createRequire } from 'node:module';
import { GatehouseError } from '../../lib/errors.ts';
import { kindOfContentType, sniffBodyKind } from './content-type.ts';
import { jsonPathProblem, re2Problem } from './checks.ts';
import type { ConfigProblem } from './schema.ts';
import { timeFormatProblem } from './time-format.ts';

export type TemplateMode = 'text' | 'json' | 'xml';

/** Where a reference sits, which decides how its value is escaped. */
export type TemplateContext =
  /** Inserted as is: text templates, JSON outside strings, XML markup and outside the root element. */
  'raw' | 'json-string' | 'xml-text' | 'xml-attribute' | 'xml-cdata' | 'xml-comment';

export interface VariableArg {
  kind: 'variable';
  name: string;
  /** `{name:default}`: used when the variable is unset. */
  fallback: string | undefined;
}

export interface LiteralArg {
  kind: 'literal';
  value: string;
}

export type TemplateArg = VariableArg | LiteralArg;

export interface VariablePart extends VariableArg {
  context: TemplateContext;
}

export interface CallPart {
  kind: 'call';
  fn: TemplateFunction;
  args: TemplateArg[];
  context: TemplateContext;
}

export type TemplatePart = string | VariablePart | CallPart;

/** A template that breaks the grammar: unbalanced or misplaced braces, a bad reference or argument list. */
export class TemplateSyntaxError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_TEMPLATE_SYNTAX', message);
  }
}

/** A call to a function Apigee's template language does not have (or Gatehouse does not implement). */
export class UnknownTemplateFunctionError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_TEMPLATE_FUNCTION', message);
  }
}

/** A known function with the wrong number of arguments or a literal argument it cannot take. */
export class TemplateArgumentError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_TEMPLATE_ARGUMENT', message);
  }
}

// ---- the functions ------------------------------------------------------------------------------

const HASHES = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'] as const;
const HMACS = ['hmacMd5', 'hmacSha1', 'hmacSha224', 'hmacSha256', 'hmacSha384', 'hmacSha512'] as const;

/** Every function of Apigee's message template function reference except xeger. */
export const TEMPLATE_FUNCTIONS = [
  ...HASHES.flatMap((h) => [`${h}Hex`, `${h}Base64`] as const),
  'encodeBase64',
  'decodeBase64',
  'toUpperCase',
  'toLowerCase',
  'substring',
  'replaceAll',
  'replaceFirst',
  'escapeJSON',
  'escapeXML',
  'escapeXML11',
  'encodeHTML',
  'timeFormat',
  'timeFormatMs',
  'timeFormatUTC',
  'timeFormatUTCMs',
  ...HMACS,
  'createUuid',
  'randomLong',
  'firstnonnull',
  'xpath',
  'xPath',
  'jsonPath',
] as const;

export type TemplateFunction = (typeof TEMPLATE_FUNCTIONS)[number];

export const HMAC_KEY_ENCODINGS = ['hex', 'base16', 'base64', 'utf-8'] as const;
export const HMAC_OUTPUT_ENCODINGS = ['hex', 'base16', 'base64'] as const;
/** XPath result types of `xpath(expr, xml, type)`; anything else that is not a namespace means nodeset. */
export const XPATH_TYPES = ['nodeset', 'node', 'number', 'boolean', 'string'] as const;
/** Apigee allows up to ten namespace arguments after the expression and the document. */
const MAX_XPATH_ARGS = 12;

const INTEGER = /^-?\d{1,19}$/;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

interface Signature {
  min: number;
  max: number;
  /** Problems with the literal arguments, checked at compile time. */
  check?: (literal: (i: number) => string | undefined) => string | undefined;
}

const one: Signature = { min: 1, max: 1 };

function integerArg(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (!INTEGER.test(value)) return `${what} must be an integer, not "${value}"`;
  const n = BigInt(value);
  return n < LONG_MIN || n > LONG_MAX ? `${what} is out of range` : undefined;
}

function oneOf(value: string | undefined, allowed: readonly string[], what: string): string | undefined {
  if (value === undefined || allowed.includes(value.toLowerCase())) return undefined;
  return `${what} must be one of ${allowed.join(', ')}, not "${value}"`;
}

const timeFormat: Signature = {
  min: 2,
  max: 2,
  check: (literal) => {
    const pattern = literal(0);
    return (pattern === undefined ? undefined : timeFormatProblem(pattern)) ?? integerArg(literal(1), 'the time');
  },
};

const hmac: Signature = {
  min: 2,
  max: 4,
  check: (literal) =>
    oneOf(literal(2), HMAC_KEY_ENCODINGS, 'the key encoding') ??
    oneOf(literal(3), HMAC_OUTPUT_ENCODINGS, 'the output encoding'),
};

const replace: Signature = {
  min: 3,
  max: 3,
  check: (literal) => {
    const regex = literal(1);
    return regex === undefined ? undefined : re2Problem(regex);
  },
};

const xpath: Signature = {
  min: 2,
  max: MAX_XPATH_ARGS,
  check: (literal) => {
    const expression = literal(0);
    const problem = expression === undefined ? undefined : xpathProblem(expression);
    if (problem) return problem;
    for (let i = 2; i < MAX_XPATH_ARGS; i++) {
      const value = literal(i);
      if (value === undefined) continue;
      const colon = value.indexOf(':');
      if (colon > 0) continue; // prefix:namespace-uri
      if (i > 2) return `argument ${i + 1} of xpath must be a namespace "prefix:uri", not "${value}"`;
    }
    return undefined;
  },
};

const SIGNATURES: Record<TemplateFunction, Signature> = {
  ...(Object.fromEntries(HASHES.flatMap((h) => [`${h}Hex`, `${h}Base64`]).map((f) => [f, one])) as Record<
    `${(typeof HASHES)[number]}${'Hex' | 'Base64'}`,
    Signature
  >),
  encodeBase64: one,
  decodeBase64: one,
  toUpperCase: one,
  toLowerCase: one,
  escapeJSON: one,
  escapeXML: one,
  escapeXML11: one,
  encodeHTML: one,
  substring: {
    min: 2,
    max: 3,
    check: (literal) => integerArg(literal(1), 'the start index') ?? integerArg(literal(2), 'the end index'),
  },
  replaceAll: replace,
  replaceFirst: replace,
  timeFormat,
  timeFormatMs: timeFormat,
  timeFormatUTC: timeFormat,
  timeFormatUTCMs: timeFormat,
  ...(Object.fromEntries(HMACS.map((f) => [f, hmac])) as Record<(typeof HMACS)[number], Signature>),
  createUuid: { min: 0, max: 0 },
  randomLong: {
    min: 0,
    max: 2,
    check: (literal) => {
      const problem = integerArg(literal(0), 'the minimum') ?? integerArg(literal(1), 'the maximum');
      if (problem) return problem;
      const [min, max] = [literal(0), literal(1)];
      return min !== undefined && max !== undefined && BigInt(min) >= BigInt(max)
        ? 'the minimum must be less than the maximum'
        : undefined;
    },
  },
  firstnonnull: { min: 1, max: Infinity },
  xpath,
  xPath: xpath,
  jsonPath: {
    min: 2,
    max: 3,
    check: (literal) => {
      const path = literal(0);
      return path === undefined ? undefined : jsonPathProblem(path);
    },
  },
};

/** Documented by Apigee, deliberately not implemented. */
const UNSUPPORTED: Record<string, string> = {
  xeger: 'template function "xeger" is not supported (it generates text from a regular expression)',
};

const isTemplateFunction = (name: string): name is TemplateFunction => Object.hasOwn(SIGNATURES, name);

interface XPathParser {
  parse(expression: string): unknown;
}
// Loaded through require: xpath's own .d.ts pulls the DOM lib into the program (see extproc/src/policies/xml.ts).
const xpathLib = createRequire(import.meta.url)('xpath') as XPathParser;

/** Why an XPath 1.0 expression does not parse, or undefined. */
export function xpathProblem(expression: string): string | undefined {
  try {
    xpathLib.parse(expression);
    return undefined;
  } catch (error) {
    return `XPath "${expression}" does not parse: ${(error as Error).message}`;
  }
}

// ---- the lexical scan ---------------------------------------------------------------------------

/** Follows the payload's lexical structure over the template's literal text. */
interface Lexer {
  /** Consumes the literal token at `i` (never one containing a brace); returns its length. */
  consume(text: string, i: number): number;
  /** The context of a reference at the current position; throws when none may be there. */
  context(offset: number): TemplateContext;
  /** Whether a literal brace here must balance (not inside a JSON string). */
  readonly countsBraces: boolean;
}

class TextLexer implements Lexer {
  readonly countsBraces = true;
  consume(): number {
    return 1;
  }
  context(): TemplateContext {
    return 'raw';
  }
}

class JsonLexer implements Lexer {
  private inString = false;
  private escaped = false;

  get countsBraces(): boolean {
    return !this.inString;
  }

  consume(text: string, i: number): number {
    const c = text.charCodeAt(i);
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (c === 0x5c) this.escaped = true;
      else if (c === 0x22) this.inString = false;
    } else if (c === 0x22) {
      this.inString = true;
    }
    return 1;
  }

  context(offset: number): TemplateContext {
    if (!this.inString) return 'raw';
    // `"\{x}"`: the backslash would escape the value's first character, whatever the renderer does.
    if (this.escaped)
      throw new TemplateSyntaxError(`a reference cannot follow a backslash in a JSON string (offset ${offset})`);
    return 'json-string';
  }
}

type XmlState = 'text' | 'tag' | 'end-tag' | 'attr-dq' | 'attr-sq' | 'comment' | 'cdata' | 'pi' | 'decl';

class XmlLexer implements Lexer {
  readonly countsBraces = true;
  private state: XmlState = 'text';
  /** Open elements, counted from the template's own markup. */
  private depth = 0;
  private declBrackets = 0;

  consume(text: string, i: number): number {
    const at = (token: string) => text.startsWith(token, i);
    const c = text[i];
    switch (this.state) {
      case 'text':
        if (at('<!--')) return this.to('comment', 4);
        if (at('<![CDATA[')) return this.to('cdata', 9);
        if (at('<!')) {
          this.declBrackets = 0;
          return this.to('decl', 2);
        }
        if (at('<?')) return this.to('pi', 2);
        if (at('</')) return this.to('end-tag', 2);
        return c === '<' ? this.to('tag', 1) : 1;
      case 'tag':
        if (c === '"') return this.to('attr-dq', 1);
        if (c === "'") return this.to('attr-sq', 1);
        if (at('/>')) return this.to('text', 2);
        if (c === '>') {
          this.depth++;
          return this.to('text', 1);
        }
        return 1;
      case 'end-tag':
        if (c === '>') {
          this.depth = Math.max(0, this.depth - 1);
          return this.to('text', 1);
        }
        return 1;
      case 'attr-dq':
        return c === '"' ? this.to('tag', 1) : 1;
      case 'attr-sq':
        return c === "'" ? this.to('tag', 1) : 1;
      case 'comment':
        return at('-->') ? this.to('text', 3) : 1;
      case 'cdata':
        return at(']]>') ? this.to('text', 3) : 1;
      case 'pi':
        return at('?>') ? this.to('text', 2) : 1;
      case 'decl':
        if (c === '[') this.declBrackets++;
        else if (c === ']') this.declBrackets--;
        else if (c === '>' && this.declBrackets <= 0) return this.to('text', 1);
        return 1;
    }
  }

  context(): TemplateContext {
    switch (this.state) {
      case 'text':
        // Outside the root element only markup can stand: a reference there is a fragment, as is.
        return this.depth > 0 ? 'xml-text' : 'raw';
      case 'attr-dq':
      case 'attr-sq':
        return 'xml-attribute';
      case 'comment':
        return 'xml-comment';
      case 'cdata':
        return 'xml-cdata';
      default:
        return 'raw';
    }
  }

  private to(state: XmlState, length: number): number {
    this.state = state;
    return length;
  }
}

function lexerFor(mode: TemplateMode): Lexer {
  return mode === 'json' ? new JsonLexer() : mode === 'xml' ? new XmlLexer() : new TextLexer();
}

// ---- the parser ---------------------------------------------------------------------------------

/** A payload's own variable delimiters (AssignMessage variablePrefix/variableSuffix) instead of braces. */
export interface TemplateDelimiters {
  prefix: string;
  suffix: string;
}

const NAME_START = /[A-Za-z_]/;
const NAME = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

const describe = (c: string | undefined) => (c === undefined ? 'the end' : c === ' ' ? 'a space' : `"${c}"`);

/**
 * Parses a template for a payload of the given mode (`text` for everything that is not a JSON or XML
 * payload). Throws TemplateSyntaxError, UnknownTemplateFunctionError or TemplateArgumentError.
 */
export function parseTemplate(text: string, mode: TemplateMode, delimiters?: TemplateDelimiters): TemplatePart[] {
  const parts: TemplatePart[] = [];
  const lexer = lexerFor(mode);
  const openBraces: number[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (delimiters && text.startsWith(delimiters.prefix, i)) {
      // Apigee's variablePrefix/variableSuffix: `@name#` is a variable; braces are literal text.
      const name = readName(text, i + delimiters.prefix.length);
      const end = i + delimiters.prefix.length + name.length;
      if (name !== '' && text.startsWith(delimiters.suffix, end)) {
        if (literal !== '') parts.push(literal);
        literal = '';
        parts.push({ kind: 'variable', name, fallback: undefined, context: lexer.context(i) });
        i = end + delimiters.suffix.length;
        continue;
      }
    }
    if (c === '{' && delimiters) {
      if (lexer.countsBraces) openBraces.push(i);
    } else if (c === '{') {
      const next = text[i + 1];
      if (next !== undefined && NAME_START.test(next)) {
        const context = lexer.context(i);
        const { part, end } = parseReference(text, i, context);
        if (literal !== '') parts.push(literal);
        literal = '';
        parts.push(part);
        i = end;
        continue;
      }
      if (next !== undefined && '0123456789{[('.includes(next)) {
        throw new TemplateSyntaxError(`"{${next}" at offset ${i} is neither a reference nor a literal brace`);
      }
      if (lexer.countsBraces) openBraces.push(i);
    } else if (c === '}' && lexer.countsBraces) {
      if (openBraces.pop() === undefined) throw new TemplateSyntaxError(`"}" at offset ${i} closes no "{"`);
    }
    const length = lexer.consume(text, i);
    literal += text.slice(i, i + length);
    i += length;
  }
  const unclosed = openBraces.pop();
  if (unclosed !== undefined) throw new TemplateSyntaxError(`"{" at offset ${unclosed} is never closed`);
  if (literal !== '') parts.push(literal);
  return parts;
}

function readName(text: string, i: number): string {
  NAME.lastIndex = i;
  return NAME.exec(text)?.[0] ?? '';
}

function parseReference(text: string, start: number, context: TemplateContext): { part: TemplatePart; end: number } {
  const name = readName(text, start + 1);
  let i = start + 1 + name.length;
  const c = text[i];
  if (c === '}') return { part: { kind: 'variable', name, fallback: undefined, context }, end: i + 1 };
  if (c === ':') {
    const close = text.indexOf('}', i);
    const fallback = text.slice(i + 1, close < 0 ? text.length : close);
    if (close < 0 || fallback.includes('{'))
      throw new TemplateSyntaxError(`the reference at offset ${start} is never closed`);
    return { part: { kind: 'variable', name, fallback, context }, end: close + 1 };
  }
  if (c === undefined) throw new TemplateSyntaxError(`the reference at offset ${start} is never closed`);
  if (c !== '(') {
    throw new TemplateSyntaxError(
      `unexpected ${describe(c)} in the reference at offset ${start}${c === ' ' ? ' (spaces are not allowed)' : ''}`,
    );
  }
  if (!FUNCTION_NAME.test(name) || !isTemplateFunction(name)) {
    throw new UnknownTemplateFunctionError(UNSUPPORTED[name] ?? `unknown template function "${name}"`);
  }
  i++;
  const args: TemplateArg[] = [];
  if (text[i] === ')') {
    i++;
  } else {
    for (;;) {
      const { arg, end } = parseArgument(text, i, name);
      args.push(arg);
      i = end;
      if (text[i] === ')') {
        i++;
        break;
      }
      if (text[i] !== ',') throw unexpectedInCall(text[i], name, i);
      i++;
    }
  }
  if (text[i] !== '}') throw unexpectedInCall(text[i], name, i);
  checkArguments(name, args);
  return { part: { kind: 'call', fn: name, args, context }, end: i + 1 };
}

function unexpectedInCall(c: string | undefined, fn: string, offset: number): TemplateSyntaxError {
  const hint =
    c === ' ' ? ' (spaces are not allowed in function expressions)' : c === '{' ? ' (calls cannot be nested)' : '';
  return new TemplateSyntaxError(`unexpected ${describe(c)} at offset ${offset} in the call to ${fn}${hint}`);
}

const ARG_END = /[,)(){}'\s]/;

function parseArgument(text: string, start: number, fn: string): { arg: TemplateArg; end: number } {
  if (text[start] === "'") {
    const close = text.indexOf("'", start + 1);
    if (close < 0) throw new TemplateSyntaxError(`the quoted argument at offset ${start} of ${fn} is never closed`);
    return { arg: { kind: 'literal', value: text.slice(start + 1, close) }, end: close + 1 };
  }
  let end = start;
  while (end < text.length && !ARG_END.test(text[end]!)) end++;
  const token = text.slice(start, end);
  if (token === '') throw unexpectedInCall(text[start], fn, start);
  if (/^-?\d+$/.test(token) || token === 'true' || token === 'false')
    return { arg: { kind: 'literal', value: token }, end };
  const name = readName(token, 0);
  const rest = token.slice(name.length);
  if (name === '' || (rest !== '' && !rest.startsWith(':'))) {
    throw new TemplateSyntaxError(
      `argument "${token}" of ${fn} is neither a quoted literal ('...') nor a variable name (offset ${start})`,
    );
  }
  return { arg: { kind: 'variable', name, fallback: rest === '' ? undefined : rest.slice(1) }, end };
}

function checkArguments(fn: TemplateFunction, args: TemplateArg[]): void {
  const { min, max, check } = SIGNATURES[fn];
  if (args.length < min || args.length > max) {
    const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new TemplateArgumentError(
      `${fn} takes ${expected} argument${expected === '1' ? '' : 's'}, not ${args.length}`,
    );
  }
  const problem = check?.((i) => {
    const arg = args[i];
    return arg?.kind === 'literal' ? arg.value : undefined;
  });
  if (problem) throw new TemplateArgumentError(`${fn}: ${problem}`);
}

// ---- what the planes ask ------------------------------------------------------------------------

/** The template mode for a payload declared with `contentType`: JSON and XML types, else text. */
export function templateModeForKind(kind: string | undefined): TemplateMode {
  return kind === 'json' ? 'json' : kind === 'xml' ? 'xml' : 'text';
}

/**
 * The modes a payload template may be rendered in: its content type's when configured, otherwise the
 * target message's (any) or, when that has none, the template's own look (sniffed like a body).
 */
export function payloadModes(content: string, contentType: string | undefined): TemplateMode[] {
  if (contentType !== undefined) return [templateModeForKind(kindOfContentType(contentType))];
  const sniffed = templateModeForKind(sniffBodyKind(content));
  return [sniffed, ...(['text', 'json', 'xml'] as const).filter((m) => m !== sniffed)];
}

/** Why `template` cannot be used in the given modes, or undefined. */
export function templateProblem(
  template: string,
  modes: readonly TemplateMode[] = ['text'],
  delimiters?: TemplateDelimiters,
): string | undefined {
  for (const mode of modes) {
    try {
      parseTemplate(template, mode, delimiters);
    } catch (error) {
      if (error instanceof GatehouseError) return modes.length > 1 ? `${error.message} (as ${mode})` : error.message;
      throw error;
    }
  }
  return undefined;
}

/** The variable names a template reads (references and variable arguments); none when it does not parse. */
export function templateVariables(template: string): string[] {
  for (const mode of ['text', 'json', 'xml'] as const) {
    let parts: TemplatePart[];
    try {
      parts = parseTemplate(template, mode);
    } catch {
      continue;
    }
    return parts.flatMap((p) =>
      typeof p === 'string'
        ? []
        : p.kind === 'variable'
          ? [p.name]
          : p.args.flatMap((a) => (a.kind === 'variable' ? [a.name] : [])),
    );
  }
  return [];
}

/** A template-valued config field: where it is (relative to the policy's member) and how it renders. */
export interface TemplateField {
  path: string;
  template: string | undefined;
  modes?: readonly TemplateMode[];
  delimiters?: TemplateDelimiters;
}

/** One problem per field whose template does not parse, named by the field's path. */
export function templateFieldProblems(fields: readonly TemplateField[]): ConfigProblem[] {
  return fields.flatMap(({ path, template, modes, delimiters }) => {
    const message = template === undefined ? undefined : templateProblem(template, modes, delimiters);
    return message === undefined ? [] : [{ path, message }];
  });
}

/** A payload's template and content type: the content type must be one media type. */
export function payloadProblems(
  path: string,
  payload: { content: string; contentType?: string; variablePrefix?: string; variableSuffix?: string } | undefined,
): ConfigProblem[] {
  if (!payload) return [];
  const problems: ConfigProblem[] = [];
  if (payload.contentType !== undefined && kindOfContentType(payload.contentType) === undefined) {
    problems.push({
      path: `${path}.contentType`,
      message: `"${payload.contentType}" is not one media type (type/subtype)`,
    });
  }
  return [
    ...problems,
    ...templateFieldProblems([
      {
        path: `${path}.content`,
        template: payload.content,
        modes: payloadModes(payload.content, payload.contentType),
        delimiters: payloadDelimiters(payload),
      },
    ]),
  ];
}

/** Map-valued template fields (`headers: {name: template}`) as fields named `<path>.<key>`. */
export function templateMapFields(path: string, map: Record<string, string> | undefined): TemplateField[] {
  return Object.entries(map ?? {}).map(([key, template]) => ({ path: `${path}.${key}`, template }));
}

/** A payload's variablePrefix/variableSuffix as delimiters; undefined unless both are set. */
export function payloadDelimiters(payload: {
  variablePrefix?: string;
  variableSuffix?: string;
}): TemplateDelimiters | undefined {
  return payload.variablePrefix && payload.variableSuffix
    ? { prefix: payload.variablePrefix, suffix: payload.variableSuffix }
    : undefined;
}
