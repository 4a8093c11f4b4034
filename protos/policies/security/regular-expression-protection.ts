// RegularExpressionProtection: reject a message when a configured pattern is found in its path,
// query, headers, form, a variable, a JSONPath or an XPath selection. Patterns are RE2 syntax and
// match in linear time (no backreferences or lookaround: those are what makes ReDoS possible).
import { jsonPathProblem, re2Problem, readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { messageName, stringList, type ConfigProblem, type JSONSchema } from '../schema.ts';

export interface NamedPatterns {
  name: string;
  patterns: string[];
}

export interface ExpressionPatterns {
  expression: string;
  patterns: string[];
}

export interface RegularExpressionProtectionConfig {
  /** The message to check; default the message of the phase the step runs in. */
  source?: 'request' | 'response';
  /** Patterns searched in the URI path (request.path, percent-decoded). */
  uriPath?: string[];
  queryParams?: NamedPatterns[];
  headers?: NamedPatterns[];
  formParams?: NamedPatterns[];
  variables?: NamedPatterns[];
  jsonPayload?: ExpressionPatterns[];
  xmlPayload?: { namespaces?: Record<string, string>; xPaths: ExpressionPatterns[] };
}

const patterns = stringList('RE2 patterns; a match anywhere in the value is a threat', 64, 4096);

const named: JSONSchema = {
  type: 'array',
  maxItems: 64,
  items: {
    type: 'object',
    required: ['name', 'patterns'],
    properties: { name: { type: 'string', minLength: 1, maxLength: 256 }, patterns },
  },
};

const expressions = (description: string): JSONSchema => ({
  type: 'array',
  maxItems: 64,
  items: {
    type: 'object',
    required: ['expression', 'patterns'],
    properties: { expression: { type: 'string', minLength: 1, maxLength: 1024, description }, patterns },
  },
});

export const regularExpressionProtection: PolicyTypeSpec = {
  type: 'RegularExpressionProtection',
  member: 'regularExpressionProtection',
  group: 'security',
  schema: {
    type: 'object',
    properties: {
      source: messageName,
      uriPath: patterns,
      queryParams: named,
      headers: named,
      formParams: named,
      variables: named,
      jsonPayload: expressions('a JSONPath expression'),
      xmlPayload: {
        type: 'object',
        required: ['xPaths'],
        properties: {
          namespaces: {
            type: 'object',
            description: 'prefix -> namespace URI',
            additionalProperties: { type: 'string', maxLength: 1024 },
          },
          xPaths: expressions('an XPath 1.0 expression'),
        },
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as RegularExpressionProtectionConfig;
    const readsBody = c.formParams !== undefined || c.jsonPayload !== undefined || c.xmlPayload !== undefined;
    return (
      (readsBody && (c.source ?? phase) === phase) ||
      readsBodyVariable(phase, { names: c.variables?.map((v) => v.name) })
    );
  },
  validate: (config) => validateRegexProtection(config as RegularExpressionProtectionConfig),
};

function validateRegexProtection(config: RegularExpressionProtectionConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (path: string, list: string[]) =>
    list.forEach((p, i) => {
      const message = re2Problem(p);
      if (message) problems.push({ path: `${path}[${i}]`, message });
    });
  check('uriPath', config.uriPath ?? []);
  for (const member of ['queryParams', 'headers', 'formParams', 'variables', 'jsonPayload'] as const) {
    (config[member] ?? []).forEach((entry, i) => check(`${member}[${i}].patterns`, entry.patterns));
  }
  config.xmlPayload?.xPaths.forEach((entry, i) => check(`xmlPayload.xPaths[${i}].patterns`, entry.patterns));
  (config.jsonPayload ?? []).forEach((entry, i) => {
    const message = jsonPathProblem(entry.expression);
    if (message) problems.push({ path: `jsonPayload[${i}].expression`, message });
  });
  return problems;
}
