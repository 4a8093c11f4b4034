// JSONPath for policies: the dialect of protos/policies/json-path.ts (parsed once at create()),
// evaluated here in time linear in the document. Each segment takes the containers the previous one
// selected, once each, so `$..*` visits every node once and `$..*..*` does not revisit subtrees
// (jsonpath-plus, used before, copies the path at every step and evaluates `$..*` in O(nodes x depth):
// 16 s on a 1 MiB body 250 levels deep). Nothing is evaluated from the expression: no filters, no scripts.
import { parseJsonPath, type JsonPathSegment, type JsonPathSelector } from '../../../protos/policies/json-path.ts';

export interface CompiledJsonPath {
  /** Everything the path selects in `json`, in document order; empty when it selects nothing. */
  values(json: unknown): unknown[];
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return value !== null && typeof value === 'object';
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/** Applies one segment's selectors to one container, appending what they select to `out`. */
function select(node: Container, selectors: JsonPathSelector[], out: unknown[]): void {
  const isArray = Array.isArray(node);
  for (const selector of selectors) {
    switch (selector.kind) {
      case 'wildcard':
        if (isArray) for (const v of node) out.push(v);
        else for (const key in node) out.push(node[key]);
        break;
      case 'name':
        // `$.items.0` (jsonpath-plus, Goessner): a dot name that is an array index selects the element.
        if (isArray) {
          if (ARRAY_INDEX.test(selector.name) && Number(selector.name) < node.length)
            out.push(node[Number(selector.name)]);
        } else if (Object.hasOwn(node, selector.name)) {
          out.push(node[selector.name]);
        }
        break;
      case 'index':
        if (isArray) {
          const i = selector.index < 0 ? node.length + selector.index : selector.index;
          if (i >= 0 && i < node.length) out.push(node[i]);
        } else if (Object.hasOwn(node, String(selector.index))) {
          out.push(node[String(selector.index)]);
        }
        break;
      case 'slice':
        if (isArray) slice(node, selector, out);
        break;
    }
  }
}

/** RFC 9535 slice semantics (negative bounds from the end, negative steps backwards, step 0 nothing). */
function slice(array: unknown[], s: { start?: number; end?: number; step: number }, out: unknown[]): void {
  const len = array.length;
  const norm = (i: number) => (i >= 0 ? i : len + i);
  if (s.step > 0) {
    const lower = Math.min(Math.max(norm(s.start ?? 0), 0), len);
    const upper = Math.min(Math.max(norm(s.end ?? len), 0), len);
    for (let i = lower; i < upper; i += s.step) out.push(array[i]);
  } else if (s.step < 0) {
    const upper = Math.min(Math.max(norm(s.start ?? len - 1), -1), len - 1);
    const lower = Math.min(Math.max(s.end === undefined ? -1 : norm(s.end), -1), len - 1);
    for (let i = upper; i > lower; i += s.step) out.push(array[i]);
  }
}

/** The containers among `nodes`, each once, in order (scalars have nothing to select under them). */
function distinctContainers(nodes: unknown[]): Container[] {
  const seen = new Set<Container>();
  for (const n of nodes) if (isContainer(n)) seen.add(n);
  return [...seen];
}

function evaluate(segments: JsonPathSegment[], root: unknown): unknown[] {
  let nodes: unknown[] = [root];
  for (const segment of segments) {
    const out: unknown[] = [];
    const input = distinctContainers(nodes);
    if (!segment.descendant) {
      for (const node of input) select(node, segment.selectors, out);
    } else {
      // Pre-order, each container once: a node nested in an earlier input node is already covered.
      const visited = new Set<Container>();
      for (const start of input) {
        if (visited.has(start)) continue;
        const stack: Container[] = [start];
        while (stack.length > 0) {
          const node = stack.pop()!;
          visited.add(node);
          select(node, segment.selectors, out);
          const children = Array.isArray(node) ? node : Object.values(node);
          for (let i = children.length - 1; i >= 0; i--) {
            const child = children[i];
            if (isContainer(child) && !visited.has(child)) stack.push(child);
          }
        }
      }
    }
    nodes = out;
  }
  return nodes;
}

/** Compiles an expression of the dialect; throws JsonPathSyntaxError for anything else (checkConfig
 * has already refused those, with the same parser). */
export function compileJsonPath(expression: string): CompiledJsonPath {
  const segments = parseJsonPath(expression);
  return {
    values(json) {
      if (json === undefined) return [];
      return evaluate(segments, json);
    },
  };
}

/** How a selected JSON value reads as text: strings as they are, anything else as JSON. */
export function jsonValueText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

/**
 * The JSON text of a list of selected values (`[v1,v2,...]`), or undefined when it would be longer
 * than `maxChars`: values nested in one another repeat their text (`$..*` over a 250-deep body is
 * 250 copies of most of it), so the text is built only while it stays within the bound.
 */
export function boundedJsonText(values: unknown[], maxChars: number): string | undefined {
  let total = 2;
  const parts: string[] = [];
  for (const value of values) {
    const text = JSON.stringify(value) ?? 'null';
    total += text.length + (parts.length > 0 ? 1 : 0);
    if (total > maxChars) return undefined;
    parts.push(text);
  }
  return `[${parts.join(',')}]`;
}

/**
 * The texts a pattern is matched against for values a path selected in `root`, bounded by the
 * document's size: each selected scalar by its own text (jsonValueText), and a selected object or
 * array by its JSON only when no selected container holds it. The outer container's JSON contains the
 * inner one's, so a pattern found in the inner text is found in the outer; matching every nested
 * container's JSON instead, as a literal reading of Apigee does, is quadratic in the depth.
 */
export function jsonMatchTexts(root: unknown, values: unknown[]): string[] {
  const texts: string[] = [];
  const selected = new Set<Container>();
  for (const value of values) {
    if (isContainer(value)) selected.add(value);
    else texts.push(jsonValueText(value));
  }
  if (selected.size <= 1) {
    for (const c of selected) texts.push(JSON.stringify(c));
    return texts;
  }
  // Pre-order from the root; a selected container's subtree is not entered (it is covered).
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (!isContainer(node)) continue;
    if (selected.has(node)) {
      texts.push(JSON.stringify(node));
      continue;
    }
    const children = Array.isArray(node) ? node : Object.values(node);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return texts;
}
