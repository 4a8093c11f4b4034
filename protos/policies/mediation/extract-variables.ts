// ExtractVariables: pull values out of a message into flow variables: `{name}` patterns on the path
// suffix, query and form parameters, headers and variables; JSONPath on a JSON body; XPath on an XML
// body (DESIGN 4).
import { jsonPathProblem, readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { messageName, stringList, type ConfigProblem, type JSONSchema } from '../schema.ts';

export interface NamedExtraction {
  /** The parameter, header or variable to read. */
  name: string;
  /** Patterns like "Bearer {token}"; the first that matches the whole value sets its variables. */
  patterns: string[];
}

export interface ExtractVariablesConfig {
  /** The message read; default the message of the phase the step runs in. */
  source?: 'request' | 'response';
  /** Variables are named `{variablePrefix}.{name}` when set. */
  variablePrefix?: string;
  /**
   * When false (the default, as in Apigee) a JSONPath or XPath that selects nothing, a variable
   * source that is unset, or a body that does not parse raises a fault; when true they are skipped.
   * Patterns that do not match never fault: they leave their variables unset.
   */
  ignoreUnresolvedVariables?: boolean;
  /** Patterns on proxy.pathsuffix, "/orders/{id}": a {name} matches within one path segment. */
  uriPath?: string[];
  queryParams?: NamedExtraction[];
  headers?: NamedExtraction[];
  formParams?: NamedExtraction[];
  variables?: NamedExtraction[];
  jsonPayload?: Array<{ name: string; jsonPath: string }>;
  xmlPayload?: { namespaces?: Record<string, string>; variables: Array<{ name: string; xPath: string }> };
}

const variableName: JSONSchema = { type: 'string', minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_.-]+$' };
const patterns = stringList('patterns with {name} placeholders', 16, 1024);
const named: JSONSchema = {
  type: 'array',
  maxItems: 64,
  items: {
    type: 'object',
    required: ['name', 'patterns'],
    properties: { name: { type: 'string', minLength: 1, maxLength: 256 }, patterns },
  },
};

export const extractVariables: PolicyTypeSpec = {
  type: 'ExtractVariables',
  member: 'extractVariables',
  group: 'mediation',
  schema: {
    type: 'object',
    properties: {
      source: messageName,
      variablePrefix: variableName,
      ignoreUnresolvedVariables: { type: 'boolean', default: false },
      uriPath: patterns,
      queryParams: named,
      headers: named,
      formParams: named,
      variables: named,
      jsonPayload: {
        type: 'array',
        maxItems: 64,
        items: {
          type: 'object',
          required: ['name', 'jsonPath'],
          properties: { name: variableName, jsonPath: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
      },
      xmlPayload: {
        type: 'object',
        required: ['variables'],
        properties: {
          namespaces: {
            type: 'object',
            description: 'prefix -> namespace URI',
            additionalProperties: { type: 'string', maxLength: 1024 },
          },
          variables: {
            type: 'array',
            maxItems: 64,
            items: {
              type: 'object',
              required: ['name', 'xPath'],
              properties: { name: variableName, xPath: { type: 'string', minLength: 1, maxLength: 1024 } },
            },
          },
        },
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as ExtractVariablesConfig;
    const readsBody = c.formParams !== undefined || c.jsonPayload !== undefined || c.xmlPayload !== undefined;
    return (
      (readsBody && (c.source ?? phase) === phase) ||
      readsBodyVariable(phase, { names: c.variables?.map((v) => v.name) })
    );
  },
  validate: (config) => validateExtractVariables(config as ExtractVariablesConfig),
};

export interface TemplatePattern {
  /** Literal text and placeholder names, alternating: [literal, name, literal, name, ..., literal]. */
  parts: string[];
}

const placeholderName = /^[A-Za-z0-9_.-]+$/;

/** Splits "Bearer {token}" into literal and placeholder parts; a string on bad syntax. */
export function parsePattern(pattern: string): TemplatePattern | string {
  const parts: string[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '}') return `unbalanced "}" in "${pattern}"`;
    if (c !== '{') {
      literal += c;
      continue;
    }
    const end = pattern.indexOf('}', i);
    if (end < 0) return `unbalanced "{" in "${pattern}"`;
    const name = pattern.slice(i + 1, end);
    if (!placeholderName.test(name)) return `bad variable name "{${name}}" in "${pattern}"`;
    if (parts.length > 0 && literal === '') return `two adjacent variables in "${pattern}" cannot be told apart`;
    parts.push(literal, name);
    literal = '';
    i = end;
  }
  parts.push(literal);
  return { parts };
}

function validateExtractVariables(config: ExtractVariablesConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (path: string, list: string[]) =>
    list.forEach((p, i) => {
      const parsed = parsePattern(p);
      if (typeof parsed === 'string') problems.push({ path: `${path}[${i}]`, message: parsed });
    });
  check('uriPath', config.uriPath ?? []);
  for (const member of ['queryParams', 'headers', 'formParams', 'variables'] as const) {
    (config[member] ?? []).forEach((entry, i) => check(`${member}[${i}].patterns`, entry.patterns));
  }
  (config.jsonPayload ?? []).forEach((entry, i) => {
    const message = jsonPathProblem(entry.jsonPath);
    if (message) problems.push({ path: `jsonPayload[${i}].jsonPath`, message });
  });
  return problems;
}
