// RegularExpressionProtection: a configured RE2 pattern found anywhere in a checked value is a threat
// (400). RE2 matches in time linear in the input whatever the pattern, so a crafted input cannot stall
// the process. Everything is compiled at create(); a request only runs the matchers.
import { RE2JS } from 're2js';
import {
  regularExpressionProtection,
  type RegularExpressionProtectionConfig,
} from '../../../../protos/policies/security/regular-expression-protection.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { Message, PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { compileJsonPath, jsonValueText } from '../json-path.ts';
import { bodyKind, checkConfig, formParams, messageOf } from '../support.ts';
import { compileXPathOrThrow, parseXmlDocument } from '../xml.ts';

/** One place to look and the patterns to look for there. */
interface Check {
  /** Where, for the fault string: "header x-token". Never the value itself (it may be a secret). */
  location: string;
  patterns: RE2JS[];
  values(ctx: PolicyContext, message: Message, body: BodyViews): string[];
}

/** Lazily parsed bodies, shared by the checks of one request. */
interface BodyViews {
  json(): unknown;
  xml(): ReturnType<typeof parseXmlDocument> | undefined;
}

function compile(patterns: string[]): RE2JS[] {
  return patterns.map((p) => RE2JS.compile(p));
}

function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path; // malformed escapes: check the raw text
  }
}

function buildChecks(config: RegularExpressionProtectionConfig, meta: PolicyMeta): Check[] {
  const checks: Check[] = [];
  if (config.uriPath) {
    checks.push({
      location: 'uri path',
      patterns: compile(config.uriPath),
      values: (ctx) => [decodedPath(ctx.request.path)],
    });
  }
  for (const { name, patterns } of config.queryParams ?? []) {
    checks.push({
      location: `query parameter ${name}`,
      patterns: compile(patterns),
      values: (ctx) => new URLSearchParams(ctx.request.query).getAll(name),
    });
  }
  for (const { name, patterns } of config.headers ?? []) {
    checks.push({
      location: `header ${name}`,
      patterns: compile(patterns),
      values: (_ctx, message) => message.headers.getAll(name),
    });
  }
  for (const { name, patterns } of config.formParams ?? []) {
    checks.push({
      location: `form parameter ${name}`,
      patterns: compile(patterns),
      values: (_ctx, message) => formParams(message, { strict: true }).getAll(name),
    });
  }
  for (const { name, patterns } of config.variables ?? []) {
    checks.push({
      location: `variable ${name}`,
      patterns: compile(patterns),
      values: (ctx) => {
        const v = ctx.variables.getString(name);
        return v === undefined ? [] : [v];
      },
    });
  }
  for (const { expression, patterns } of config.jsonPayload ?? []) {
    const path = compileJsonPath(expression);
    checks.push({
      location: `JSONPath ${expression}`,
      patterns: compile(patterns),
      values: (_ctx, _m, body) => path.values(body.json()).map(jsonValueText),
    });
  }
  for (const { expression, patterns } of config.xmlPayload?.xPaths ?? []) {
    const xpath = compileXPathOrThrow(expression, config.xmlPayload?.namespaces, meta);
    checks.push({
      location: `XPath ${expression}`,
      patterns: compile(patterns),
      values: (_ctx, _m, body) => {
        const doc = body.xml();
        return doc ? xpath.values(doc) : [];
      },
    });
  }
  return checks;
}

function executionFailed(meta: PolicyMeta, reason: string): PolicyFault {
  return new PolicyFault({
    status: 400,
    errorCode: 'steps.regexprotection.ExecutionFailed',
    faultString: `RegularExpressionProtection[${meta.name}]: ${reason}`,
  });
}

function bodyViews(message: Message, meta: PolicyMeta): BodyViews {
  let xml: ReturnType<typeof parseXmlDocument> | undefined;
  return {
    json: () => {
      if (bodyKind(message) !== 'json') return undefined;
      try {
        return message.body.json();
      } catch {
        throw executionFailed(meta, 'the body is not valid JSON');
      }
    },
    xml: () => {
      if (bodyKind(message) !== 'xml') return undefined;
      try {
        xml ??= parseXmlDocument(message.body.text());
        return xml;
      } catch {
        throw executionFailed(meta, 'the body is not acceptable XML');
      }
    },
  };
}

export const regularExpressionProtectionPolicy: PolicyImplementation<RegularExpressionProtectionConfig> = {
  type: 'RegularExpressionProtection',
  create(config, meta) {
    checkConfig(regularExpressionProtection, config, meta);
    const checks = buildChecks(config, meta);
    return (ctx) => {
      const message = messageOf(ctx, config.source);
      if (!message) return undefined;
      const body = bodyViews(message, meta);
      for (const check of checks) {
        const values = check.values(ctx, message, body);
        if (values.some((value) => check.patterns.some((p) => p.test(value)))) {
          throw new PolicyFault({
            status: 400,
            errorCode: 'steps.regexprotection.ThreatDetected',
            faultString: `Regular Expression Threat Detected in ${meta.name}: ${check.location}`,
          });
        }
      }
      return undefined;
    };
  },
};
