// ExtractVariables: pull values out of a message into flow variables: `{name}` patterns on the path
// suffix, query and form parameters, headers and variables; JSONPath on a JSON body; XPath on an XML
// body (docs/policies.md).
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

const variableName = (description: string): JSONSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: 256,
  pattern: '^[A-Za-z0-9_.-]+$',
  description,
});
const patterns = (on: string, apigee: string) =>
  stringList(
    `Patterns matched against ${on}: literal text with {name} placeholders, e.g. "Bearer {token}"; the first pattern that matches the whole value sets its variables (at most 16; case-sensitive). Apigee: ${apigee}.`,
    16,
    1024,
    'A pattern (1 to 1024 characters); {name} captures text into the variable name.',
  );
const named = (what: string, apigee: string): JSONSchema => ({
  type: 'array',
  maxItems: 64,
  description: `${what[0]!.toUpperCase()}${what.slice(1)}s to extract from (at most 64). Apigee: <${apigee}> elements.`,
  items: {
    type: 'object',
    description: `One ${what} and its patterns. Apigee: <${apigee} name>.`,
    required: ['name', 'patterns'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 256, description: `Name of the ${what}.` },
      patterns: patterns(`every value of the ${what}`, '<Pattern> elements'),
    },
  },
});

export const extractVariables: PolicyTypeSpec = {
  type: 'ExtractVariables',
  member: 'extractVariables',
  group: 'mediation',
  schema: {
    type: 'object',
    description:
      'ExtractVariables: pulls values out of the path, parameters, headers, variables or a JSON or XML body into flow variables. Apigee: <ExtractVariables>.',
    properties: {
      source: {
        ...messageName,
        description:
          'The message read: request or response; default the message of the phase the step runs in (query parameters always come from the request). Apigee: <Source>.',
      },
      variablePrefix: variableName(
        'Variables are named <variablePrefix>.<name> (letters, digits, _, . and -); absent: <name>. Apigee: <VariablePrefix>.',
      ),
      ignoreUnresolvedVariables: {
        type: 'boolean',
        default: false,
        description:
          'false (default): a JSONPath or XPath that selects nothing, a body that does not parse or a missing source message raises a fault; true: they are skipped. Patterns that do not match never fault. Apigee: <IgnoreUnresolvedVariables>.',
      },
      uriPath: patterns(
        'proxy.pathsuffix, where a {name} stays within one path segment (/items/{itemId})',
        '<URIPath><Pattern>',
      ),
      queryParams: named('query parameter', 'QueryParam'),
      headers: named('header', 'Header'),
      formParams: named('form parameter', 'FormParam'),
      variables: named('flow variable', 'Variable'),
      jsonPayload: {
        type: 'array',
        maxItems: 64,
        description:
          'Values selected by JSONPath from a JSON body (at most 64). Apigee: <JSONPayload><Variable> elements.',
        items: {
          type: 'object',
          description: 'One variable and its JSONPath. Apigee: <Variable name><JSONPath>.',
          required: ['name', 'jsonPath'],
          properties: {
            name: variableName('The variable set (letters, digits, _, . and -).'),
            jsonPath: {
              type: 'string',
              minLength: 1,
              maxLength: 1024,
              description:
                'A JSONPath starting with $ (no filter or script expressions); one selected value sets its text, several a JSON array. Apigee: <JSONPath>.',
            },
          },
        },
      },
      xmlPayload: {
        type: 'object',
        description: 'Values selected by XPath 1.0 from an XML body. Apigee: <XMLPayload>.',
        required: ['variables'],
        properties: {
          namespaces: {
            type: 'object',
            description: 'Namespace prefixes the XPaths use: prefix → namespace URI. Apigee: <Namespaces>.',
            additionalProperties: { type: 'string', maxLength: 1024, description: 'The namespace URI.' },
          },
          variables: {
            type: 'array',
            maxItems: 64,
            description: 'Variables to set (at most 64). Apigee: <Variable> elements.',
            items: {
              type: 'object',
              description: 'One variable and its XPath. Apigee: <Variable name><XPath>.',
              required: ['name', 'xPath'],
              properties: {
                name: variableName('The variable set (letters, digits, _, . and -).'),
                xPath: {
                  type: 'string',
                  minLength: 1,
                  maxLength: 1024,
                  description: "An XPath 1.0 expression; the first selected node's text is set. Apigee: <XPath>.",
                },
              },
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
