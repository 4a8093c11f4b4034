// The JSONPath dialect policies accept (ExtractVariables, RegularExpressionProtection), parsed the same
// way by the compiler (validation) and by extproc (evaluation), so an expression one accepts the other
// can run. It is the common core of Goessner's JSONPath, Jayway's (Apigee's) and RFC 9535: `$`, `.name`,
// `.*`, `..name`, `..*`, `..[...]`, and brackets holding `*`, quoted names, indices (negative from the
// end), slices `start:end:step` and unions of these. Filters and scripts (`[?(...)]`, `[(...)]`) would
// evaluate an expression language on request data, and jsonpath-plus's own extensions (`^`, `~`, `@path`)
// are not JSONPath anywhere else: both are refused with the reason.
import { GatehouseError } from '../../lib/errors.ts';

export type JsonPathSelector =
  | { kind: 'name'; name: string }
  | { kind: 'wildcard' }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start: number | undefined; end: number | undefined; step: number };

export interface JsonPathSegment {
  /** `..`: the selectors apply to the node and every node under it. */
  descendant: boolean;
  selectors: JsonPathSelector[];
}

/** A JSONPath expression outside the supported dialect. */
export class JsonPathSyntaxError extends GatehouseError {
  constructor(expression: string, reason: string) {
    super('GH_ERR_JSONPATH_SYNTAX', `JSONPath "${expression}": ${reason}`);
  }
}

/** Characters that end a dot-notation name. */
const NAME_END = new Set([...'.[]()\'"*?,:^~@$ \t\r\n']);
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/** Parses `expression` into segments; throws JsonPathSyntaxError on anything outside the dialect. */
export function parseJsonPath(expression: string): JsonPathSegment[] {
  const fail = (reason: string): never => {
    throw new JsonPathSyntaxError(expression, reason);
  };
  if (!expression.startsWith('$')) fail('must start with "$"');
  const segments: JsonPathSegment[] = [];
  let pos = 1;
  while (pos < expression.length) {
    const c = expression[pos];
    if (c === '[') {
      const [selectors, next] = bracket(expression, pos, fail);
      segments.push({ descendant: false, selectors });
      pos = next;
    } else if (c === '.') {
      const descendant = expression[pos + 1] === '.';
      pos += descendant ? 2 : 1;
      if (expression[pos] === '[' && descendant) {
        const [selectors, next] = bracket(expression, pos, fail);
        segments.push({ descendant, selectors });
        pos = next;
      } else if (expression[pos] === '*') {
        segments.push({ descendant, selectors: [{ kind: 'wildcard' }] });
        pos++;
      } else {
        let end = pos;
        while (end < expression.length && !NAME_END.has(expression[end]!)) end++;
        if (end === pos) {
          const found = expression[pos];
          fail(found === undefined ? 'ends with "."' : `unexpected "${found}" after "."`);
        }
        segments.push({ descendant, selectors: [{ kind: 'name', name: expression.slice(pos, end) }] });
        pos = end;
      }
    } else {
      fail(
        `unexpected "${c}" at offset ${pos}${c === '^' || c === '~' ? ' (jsonpath-plus extensions are not supported)' : ''}`,
      );
    }
  }
  return segments;
}

/** One `[...]` starting at `open`; returns its selectors and the offset after `]`. */
function bracket(expression: string, open: number, fail: (reason: string) => never): [JsonPathSelector[], number] {
  const selectors: JsonPathSelector[] = [];
  let pos = open + 1;
  const skipSpace = () => {
    while (pos < expression.length && ' \t\r\n'.includes(expression[pos]!)) pos++;
  };
  for (;;) {
    skipSpace();
    const c = expression[pos];
    if (c === undefined) fail('unterminated "["');
    if (c === '?' || c === '(') fail('filter and script expressions are not supported');
    if (c === "'" || c === '"') {
      const [name, next] = quoted(expression, pos, fail);
      selectors.push({ kind: 'name', name });
      pos = next;
    } else if (c === '*') {
      selectors.push({ kind: 'wildcard' });
      pos++;
    } else {
      let end = pos;
      while (end < expression.length && !',]'.includes(expression[end]!)) end++;
      selectors.push(indexOrSlice(expression.slice(pos, end).trim(), fail));
      pos = end;
    }
    skipSpace();
    if (expression[pos] === ']') return [selectors, pos + 1];
    if (expression[pos] !== ',') fail(`expected "," or "]" at offset ${pos}`);
    pos++;
  }
}

function quoted(expression: string, open: number, fail: (reason: string) => never): [string, number] {
  const quote = expression[open];
  let name = '';
  for (let pos = open + 1; pos < expression.length; pos++) {
    const c = expression[pos]!;
    if (c === quote) return [name, pos + 1];
    if (c === '\\') {
      const escaped = expression[++pos];
      if (escaped === undefined) break;
      name += escaped;
    } else {
      name += c;
    }
  }
  return fail('unterminated quoted name');
}

function integer(text: string, fail: (reason: string) => never): number {
  if (!INTEGER.test(text) || !Number.isSafeInteger(Number(text))) fail(`"${text}" is not an integer`);
  return Number(text);
}

function indexOrSlice(text: string, fail: (reason: string) => never): JsonPathSelector {
  if (text === '') fail('empty selector in "[]"');
  if (!text.includes(':')) {
    if (!INTEGER.test(text)) fail(`"${text}" in brackets must be quoted ('${text}'), an index, a slice or "*"`);
    return { kind: 'index', index: integer(text, fail) };
  }
  const parts = text.split(':').map((p) => p.trim());
  if (parts.length > 3) fail(`"${text}" is not a slice`);
  const [start, end, step] = parts;
  return {
    kind: 'slice',
    start: start ? integer(start, fail) : undefined,
    end: end ? integer(end, fail) : undefined,
    step: step ? integer(step, fail) : 1,
  };
}
