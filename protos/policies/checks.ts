// Checks for the expression languages policy configs embed, shared by the compiler (validate) and
// extproc (create): RE2 patterns and JSONPath.
import { RE2JS } from 're2js';

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
 * Why a JSONPath expression is not supported, or undefined. Filter and script expressions
 * (`[?(...)]`, `[(...)]`) would run an expression evaluator on user input; they are refused.
 */
export function jsonPathProblem(expression: string): string | undefined {
  if (!expression.startsWith('$')) return `JSONPath "${expression}" must start with "$"`;
  if (/\[\s*\??\s*\(/.test(expression))
    return `JSONPath "${expression}": filter and script expressions are not supported`;
  return undefined;
}
