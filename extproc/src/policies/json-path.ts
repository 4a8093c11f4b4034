// JSONPath for policies: jsonpath-plus with script evaluation off (filter expressions are refused at
// validation, see protos/policies/expressions.ts), so a path never runs code.
import { JSONPath } from 'jsonpath-plus';

export interface CompiledJsonPath {
  /** Everything the path selects in `json`; empty when it selects nothing. */
  values(json: unknown): unknown[];
}

export function compileJsonPath(expression: string): CompiledJsonPath {
  // Parsed once here; jsonpath-plus keeps parsed paths in its own cache keyed by the expression.
  JSONPath.toPathArray(expression);
  return {
    values(json) {
      if (json === undefined) return [];
      // jsonpath-plus wants an object or array; a scalar document has only itself to select.
      if (json === null || typeof json !== 'object') return expression === '$' ? [json] : [];
      return JSONPath({ path: expression, json, wrap: true, eval: false }) as unknown[];
    },
  };
}

/** How a selected JSON value reads as text: strings as they are, anything else as JSON. */
export function jsonValueText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}
