// RegularExpressionProtection: a configured RE2 pattern found anywhere in a checked value is a threat
// (400). RE2 matches in time linear in the input whatever the pattern, so a crafted input cannot stall
// the process. Everything is compiled at create(); a request only runs the matchers. The body checks
// (JSONPath, XPath) are the task `regex.body` (workers/tasks.ts), which parses and queries the body
// inline when it is small and on the worker pool when it is not, and matches every byte of it a
// bounded number of times: a selected object, array or element is matched through the text of the
// outermost selected one that holds it (json-path.ts jsonMatchTexts, xml.ts xpathMatchTexts).
import { RE2JS } from 're2js';
import {
  regularExpressionProtection,
  type RegularExpressionProtectionConfig,
} from '../../../../protos/policies/security/regular-expression-protection.ts';
import { DEFAULT_THREAT_FAULT_STATUS } from '../../../../protos/policies/security/threat-fault-status.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { BodyParseError, decodeBody, parseJsonText } from '../../flow/message.ts';
import { settle } from '../../flow/offload.ts';
import type { Message, PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { compileJsonPath, jsonMatchTexts, type CompiledJsonPath } from '../json-path.ts';
import { bodyKind, checkConfig, formParams, messageOf, sourceUnavailable } from '../support.ts';
import {
  compileXPath,
  compileXPathOrThrow,
  parseXmlDocument,
  xpathMatchTexts,
  XmlViolation,
  type CompiledXPath,
} from '../xml.ts';

/** One place to look and the patterns to look for there. */
interface Check {
  /** Where, for the fault string: "header x-token". Never the value itself (it may be a secret). */
  location: string;
  patterns: RE2JS[];
  values(ctx: PolicyContext, message: Message): string[];
}

/** The body checks as plain config: what the task `regex.body` gets. */
export interface RegexBodySpec {
  json: Array<{ expression: string; patterns: string[] }>;
  xml: Array<{ expression: string; patterns: string[] }>;
  namespaces: Record<string, string>;
}

/** A threat's location, the body that could not be read, or null for a clean body. */
export type RegexBodyOutcome = { threat: string } | { unreadable: 'json' | 'xml' } | null;

function compile(patterns: string[]): RE2JS[] {
  return patterns.map((p) => RE2JS.compile(p));
}

/** Whether any of a check's patterns is found in a text. */
interface AnyPattern {
  test(text: string): boolean;
}

/**
 * The patterns as one RE2 alternation `(?:p1)|(?:p2)|...`, so a body's texts are scanned once, not
 * once per pattern (a flag such as `(?i)` stays inside its group); the list itself when the
 * alternation does not compile (duplicate group names).
 */
function compileAny(patterns: string[]): AnyPattern {
  const each = compile(patterns);
  if (each.length <= 1) return { test: (text) => each.some((p) => p.test(text)) };
  try {
    const all = RE2JS.compile(patterns.map((p) => `(?:${p})`).join('|'));
    return { test: (text) => all.test(text) };
  } catch {
    return { test: (text) => each.some((p) => p.test(text)) };
  }
}

function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path; // malformed escapes: check the raw text
  }
}

function buildChecks(config: RegularExpressionProtectionConfig): Check[] {
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
  return checks;
}

interface CompiledBodyChecks {
  json: Array<{ location: string; path: CompiledJsonPath; patterns: AnyPattern }>;
  xml: Array<{ location: string; xpath: CompiledXPath; patterns: AnyPattern }>;
}

/** Compiled body checks by spec (as JSON): each worker compiles a policy's checks once. */
const compiledBodyChecks = new Map<string, CompiledBodyChecks>();
const MAX_CACHED_SPECS = 256;

function bodyChecksFor(key: string, spec: RegexBodySpec): CompiledBodyChecks {
  let compiled = compiledBodyChecks.get(key);
  if (compiled) return compiled;
  compiled = {
    json: spec.json.map(({ expression, patterns }) => ({
      location: `JSONPath ${expression}`,
      path: compileJsonPath(expression),
      patterns: compileAny(patterns),
    })),
    xml: spec.xml.map(({ expression, patterns }) => ({
      location: `XPath ${expression}`,
      xpath: compileXPath(expression, spec.namespaces),
      patterns: compileAny(patterns),
    })),
  };
  if (compiledBodyChecks.size >= MAX_CACHED_SPECS) compiledBodyChecks.delete(compiledBodyChecks.keys().next().value!);
  compiledBodyChecks.set(key, compiled);
  return compiled;
}

/** Tests several texts, each distinct text once. */
function found(texts: string[], pattern: AnyPattern): boolean {
  const seen = new Set<string>();
  for (const text of texts) {
    if (seen.has(text)) continue;
    seen.add(text);
    if (pattern.test(text)) return true;
  }
  return false;
}

/**
 * The task `regex.body`: the JSONPath checks (when `json`) then the XPath checks (when `xml`), in
 * config order, on a body parsed at most once each way. `key` identifies `spec` for the compile cache.
 */
export function regexBodyTask(input: {
  body: Uint8Array;
  spec: RegexBodySpec;
  key: string;
  json: boolean;
  xml: boolean;
}): RegexBodyOutcome {
  const checks = bodyChecksFor(input.key, input.spec);
  const text = decodeBody(input.body);
  if (input.json && checks.json.length > 0) {
    let document: unknown;
    try {
      document = parseJsonText(text);
    } catch (error) {
      if (error instanceof BodyParseError) return { unreadable: 'json' };
      throw error;
    }
    for (const check of checks.json) {
      if (found(jsonMatchTexts(document, check.path.values(document)), check.patterns))
        return { threat: check.location };
    }
  }
  if (input.xml && checks.xml.length > 0) {
    let document: ReturnType<typeof parseXmlDocument>;
    try {
      document = parseXmlDocument(text);
    } catch (error) {
      if (error instanceof XmlViolation) return { unreadable: 'xml' };
      throw error;
    }
    for (const check of checks.xml) {
      if (found(xpathMatchTexts(check.xpath.select(document)), check.patterns)) return { threat: check.location };
    }
  }
  return null;
}

function bodySpec(config: RegularExpressionProtectionConfig): RegexBodySpec {
  return {
    json: (config.jsonPayload ?? []).map(({ expression, patterns }) => ({ expression, patterns })),
    xml: (config.xmlPayload?.xPaths ?? []).map(({ expression, patterns }) => ({ expression, patterns })),
    namespaces: config.xmlPayload?.namespaces ?? {},
  };
}

const REGEX_SOURCE_UNAVAILABLE = 'steps.regexprotection.SourceUnavailable';

function executionFailed(meta: PolicyMeta, reason: string, status: number): PolicyFault {
  return new PolicyFault({
    status,
    errorCode: 'steps.regexprotection.ExecutionFailed',
    faultString: `RegularExpressionProtection[${meta.name}]: ${reason}`,
  });
}

function threatDetected(meta: PolicyMeta, location: string): PolicyFault {
  return new PolicyFault({
    status: 400,
    errorCode: 'steps.regexprotection.ThreatDetected',
    faultString: `Regular Expression Threat Detected in ${meta.name}: ${location}`,
  });
}

export const regularExpressionProtectionPolicy: PolicyImplementation<RegularExpressionProtectionConfig> = {
  type: 'RegularExpressionProtection',
  create(config, meta) {
    checkConfig(regularExpressionProtection, config, meta);
    const checks = buildChecks(config);
    const spec = bodySpec(config);
    for (const { expression } of spec.xml) compileXPathOrThrow(expression, spec.namespaces, meta);
    const key = JSON.stringify(spec);
    const status = config.faultStatus ?? DEFAULT_THREAT_FAULT_STATUS;
    return (ctx) => {
      const message = messageOf(ctx, config.source);
      if (!message)
        throw sourceUnavailable('RegularExpressionProtection', REGEX_SOURCE_UNAVAILABLE, meta.name, config.source);
      for (const check of checks) {
        const values = check.values(ctx, message);
        if (values.some((value) => check.patterns.some((p) => p.test(value))))
          throw threatDetected(meta, check.location);
      }
      if (spec.json.length === 0 && spec.xml.length === 0) return undefined;
      // Any spelling of a JSON or XML type, or an untyped body that looks like one; an ambiguous
      // Content-Type is refused (support.ts bodyKind).
      const kind = bodyKind(message);
      const json = spec.json.length > 0 && kind === 'json';
      const xml = spec.xml.length > 0 && kind === 'xml';
      if (!json && !xml) return undefined;
      const outcome = ctx.offload.run('regex.body', { body: message.body.bytes(), spec, key, json, xml });
      return settle(outcome, (result) => {
        if (!result) return undefined;
        if ('threat' in result) throw threatDetected(meta, result.threat);
        throw executionFailed(
          meta,
          result.unreadable === 'json' ? 'the body is not valid JSON' : 'the body is not acceptable XML',
          status,
        );
      });
    };
  },
};
