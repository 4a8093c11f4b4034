// Checks for the expression languages policy configs embed, shared by the compiler (validate) and
// extproc (create): RE2 patterns and JSONPath.
import { RE2JS } from 're2js';
import { JsonPathSyntaxError, parseJsonPath } from './json-path.ts';

/** Why RE2 cannot compile `pattern`, or undefined when it can. */
export function re2Problem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (error) {
    return `pattern "${pattern}" is not valid RE2 syntax: ${(error as Error).message}`;
  }
}

/**
 * Why a JSONPath expression is not supported, or undefined: anything outside the dialect of
 * json-path.ts, which extproc evaluates in time linear in the document. Filter and script expressions
 * (`[?(...)]`, `[(...)]`) would run an expression evaluator on user input; they are refused.
 */
export function jsonPathProblem(expression: string): string | undefined {
  try {
    parseJsonPath(expression);
    return undefined;
  } catch (error) {
    if (error instanceof JsonPathSyntaxError) return error.message;
    throw error;
  }
}
