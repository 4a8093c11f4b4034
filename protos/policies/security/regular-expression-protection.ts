// RegularExpressionProtection: reject a message when a configured pattern is found in its path,
// query, headers, form, a variable, a JSONPath or an XPath selection. Patterns are RE2 syntax and
// match in linear time (no backreferences or lookaround: those are what makes ReDoS possible).
import { jsonPathProblem, re2Problem, readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import { threatFaultStatus, type ThreatFaultStatus } from './threat-fault-status.ts';
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
  /** Status of the ExecutionFailed fault (a body that is not valid JSON or acceptable XML); default 400 (Apigee: 500). */
  faultStatus?: ThreatFaultStatus;
}

const patterns = (what: string) =>
  stringList(
    `Patterns searched in ${what}; a match anywhere is a threat (at most 64). Apigee: <Pattern> elements.`,
    64,
    4096,
    'An RE2 regular expression (at most 4096 characters; no backreferences or lookaround), e.g. (?i)<\\s*script.',
  );

const named = (what: string, apigee: string): JSONSchema => ({
  type: 'array',
  maxItems: 64,
  description: `${what[0]!.toUpperCase()}${what.slice(1)}s to check (at most 64). Apigee: <${apigee}> elements.`,
  items: {
    type: 'object',
    description: `One ${what} and its patterns. Apigee: <${apigee} name>.`,
    required: ['name', 'patterns'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 256, description: `Name of the ${what}.` },
      patterns: patterns(`every value of the ${what}`),
    },
  },
});

const expressions = (language: string, apigee: string): JSONSchema => ({
  type: 'array',
  maxItems: 64,
  description: `Body values selected by ${language} to check (at most 64). Apigee: <${apigee}> elements.`,
  items: {
    type: 'object',
    description: `One ${language} expression and its patterns. Apigee: <${apigee}>.`,
    required: ['expression', 'patterns'],
    properties: {
      expression: {
        type: 'string',
        minLength: 1,
        maxLength: 1024,
        description: `A ${language} expression; every selected value is checked, as text. Apigee: <Expression>.`,
      },
      patterns: patterns('every selected value'),
    },
  },
});

export const regularExpressionProtection: PolicyTypeSpec = {
  type: 'RegularExpressionProtection',
  member: 'regularExpressionProtection',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'RegularExpressionProtection: refuses a message (400 steps.regexprotection.ThreatDetected) when a pattern is found in its path, parameters, headers, variables or body. Patterns are RE2 and match in linear time. Apigee: <RegularExpressionProtection>.',
    properties: {
      source: {
        ...messageName,
        description:
          'The message checked: request or response; default the message of the phase the step runs in. Apigee: <Source>.',
      },
      uriPath: patterns('request.path, percent-decoded'),
      queryParams: named('query parameter', 'QueryParam'),
      headers: named('header', 'Header'),
      formParams: named('form parameter', 'FormParam'),
      variables: named('flow variable', 'Variable'),
      jsonPayload: expressions('JSONPath', 'JSONPayload><JSONPath'),
      xmlPayload: {
        type: 'object',
        description: 'Checks on an XML body. Apigee: <XMLPayload>.',
        required: ['xPaths'],
        properties: {
          namespaces: {
            type: 'object',
            description: 'Namespace prefixes the XPaths use: prefix → namespace URI. Apigee: <Namespaces>.',
            additionalProperties: { type: 'string', maxLength: 1024, description: 'The namespace URI.' },
          },
          xPaths: expressions('XPath 1.0', 'XPath'),
        },
      },
      faultStatus: threatFaultStatus,
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
