// ExtractVariables (DESIGN 4): `{name}` patterns on the path suffix, query and form parameters,
// headers and variables; JSONPath on a JSON body; XPath on an XML body. Patterns become anchored RE2
// expressions at create(), so matching a hostile value is linear.
import { RE2JS } from 're2js';
import {
  extractVariables,
  parsePattern,
  type ExtractVariablesConfig,
  type NamedExtraction,
  type TemplatePattern,
} from '../../../../protos/policies/mediation/extract-variables.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { Message, PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { compileJsonPath, jsonValueText } from '../json-path.ts';
import { bodyKind, checkConfig, formParams, messageOf } from '../support.ts';
import { compileXPathOrThrow, parseXmlDocument } from '../xml.ts';

interface CompiledPattern {
  regex: RE2JS;
  names: string[];
}

/** "/orders/{id}" -> ^/orders/([^/]*)$ ; "Bearer {token}" -> ^Bearer (.*?)$ (a path variable stays in its segment). */
function compilePattern(pattern: string, withinSegment: boolean): CompiledPattern {
  const { parts } = parsePattern(pattern) as TemplatePattern; // checkConfig has rejected bad syntax
  const capture = withinSegment ? '([^/]*)' : '(.*?)';
  let source = '^';
  const names: string[] = [];
  parts.forEach((part, i) => {
    if (i % 2 === 0) source += RE2JS.quote(part);
    else {
      source += capture;
      names.push(part);
    }
  });
  return { regex: RE2JS.compile(`${source}$`, RE2JS.DOTALL), names };
}

/** The variables of the first pattern that matches `value` whole, or undefined. */
function extract(patterns: CompiledPattern[], value: string): Array<[string, string]> | undefined {
  for (const { regex, names } of patterns) {
    const match = regex.exec(value);
    if (match) return names.map((name, i) => [name, match[i + 1] as string]);
  }
  return undefined;
}

type ValueSource = (ctx: PolicyContext, message: Message) => string | undefined;

interface PatternExtraction {
  source: ValueSource;
  patterns: CompiledPattern[];
}

function namedExtractions(
  list: NamedExtraction[] | undefined,
  read: (name: string) => ValueSource,
): PatternExtraction[] {
  return (list ?? []).map(({ name, patterns }) => ({
    source: read(name),
    patterns: patterns.map((p) => compilePattern(p, false)),
  }));
}

function failure(meta: PolicyMeta, errorCode: string, reason: string): PolicyFault {
  return new PolicyFault({
    status: 500,
    errorCode: `steps.extractvariables.${errorCode}`,
    faultString: `ExtractVariables[${meta.name}]: ${reason}`,
  });
}

export const extractVariablesPolicy: PolicyImplementation<ExtractVariablesConfig> = {
  type: 'ExtractVariables',
  create(config, meta) {
    checkConfig(extractVariables, config, meta);
    const ignoreUnresolved = config.ignoreUnresolvedVariables ?? false;
    const variableName = (name: string) => (config.variablePrefix ? `${config.variablePrefix}.${name}` : name);
    const pathSuffix: ValueSource = (ctx) => ctx.variables.getString('proxy.pathsuffix');
    const patternExtractions: PatternExtraction[] = [
      ...(config.uriPath ? [{ source: pathSuffix, patterns: config.uriPath.map((p) => compilePattern(p, true)) }] : []),
      ...namedExtractions(
        config.queryParams,
        (name) => (ctx) => new URLSearchParams(ctx.request.query).get(name) ?? undefined,
      ),
      ...namedExtractions(config.headers, (name) => (_ctx, message) => message.headers.get(name)),
      ...namedExtractions(
        config.formParams,
        (name) => (_ctx, message) => formParams(message, { strict: true }).get(name) ?? undefined,
      ),
      ...namedExtractions(config.variables, (name) => (ctx) => ctx.variables.getString(name)),
    ];
    const jsonPaths = (config.jsonPayload ?? []).map(({ name, jsonPath }) => ({
      name,
      path: compileJsonPath(jsonPath),
      jsonPath,
    }));
    const xPaths = (config.xmlPayload?.variables ?? []).map(({ name, xPath }) => ({
      name,
      xPath,
      compiled: compileXPathOrThrow(xPath, config.xmlPayload?.namespaces, meta),
    }));

    const unresolved = (what: string) => {
      if (!ignoreUnresolved) throw failure(meta, 'ExecutionFailed', `Unresolved variable : ${what}`);
    };

    const fromPatterns = (ctx: PolicyContext, message: Message) => {
      for (const { source, patterns } of patternExtractions) {
        const value = source(ctx, message);
        // A value that matches no pattern sets nothing: that is not an error (as in Apigee).
        for (const [name, extracted] of (value === undefined ? undefined : extract(patterns, value)) ?? []) {
          ctx.variables.set(variableName(name), extracted);
        }
      }
    };

    const fromJson = (ctx: PolicyContext, message: Message) => {
      let json: unknown;
      try {
        json = message.body.json();
      } catch {
        if (!ignoreUnresolved) throw failure(meta, 'JsonPathParsingFailure', 'the body is not valid JSON');
        return;
      }
      for (const { name, path, jsonPath } of jsonPaths) {
        const values = path.values(json);
        if (values.length === 0) unresolved(jsonPath);
        else
          ctx.variables.set(
            variableName(name),
            values.length === 1 ? jsonValueText(values[0]) : JSON.stringify(values),
          );
      }
    };

    const fromXml = (ctx: PolicyContext, message: Message) => {
      let document: ReturnType<typeof parseXmlDocument>;
      try {
        document = parseXmlDocument(message.body.text());
      } catch {
        if (!ignoreUnresolved) throw failure(meta, 'ExecutionFailed', 'the body is not acceptable XML');
        return;
      }
      for (const { name, xPath, compiled } of xPaths) {
        const [first] = compiled.values(document);
        if (first === undefined) unresolved(xPath);
        else ctx.variables.set(variableName(name), first);
      }
    };

    return (ctx) => {
      const message = messageOf(ctx, config.source);
      if (!message) {
        unresolved(config.source ?? ctx.phase);
        return undefined;
      }
      // The payload is parsed as configured, whatever its type says, but never one whose Content-Type
      // names several media types or none that parses (bodyKind throws: 400, as every guard answers).
      if (jsonPaths.length > 0 || xPaths.length > 0) bodyKind(message);
      fromPatterns(ctx, message);
      if (jsonPaths.length > 0) fromJson(ctx, message);
      if (xPaths.length > 0) fromXml(ctx, message);
      return undefined;
    };
  },
};
