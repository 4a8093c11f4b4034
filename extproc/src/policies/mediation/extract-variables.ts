// ExtractVariables (docs/policies.md): `{name}` patterns on the path suffix, query and form parameters,
// headers and variables; JSONPath on a JSON body; XPath on an XML body. Patterns become anchored RE2
// expressions at create(), so matching a hostile value is linear. The body queries are the task
// `extract.body` (workers/tasks.ts): inline for a small body, on the worker pool for a large one.
import { RE2JS } from 're2js';
import {
  extractVariables,
  parsePattern,
  type ExtractVariablesConfig,
  type NamedExtraction,
  type TemplatePattern,
} from '../../../../protos/policies/mediation/extract-variables.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { BodyParseError, decodeBody, parseJsonText } from '../../flow/message.ts';
import { settle } from '../../flow/offload.ts';
import type { Message, PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { boundedJsonText, compileJsonPath, jsonValueText, type CompiledJsonPath } from '../json-path.ts';
import { bodyKind, checkConfig, formParams, messageOf } from '../support.ts';
import { compileXPath, compileXPathOrThrow, parseXmlDocument, XmlViolation, type CompiledXPath } from '../xml.ts';

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

/** The body queries as plain config: what the task `extract.body` gets. */
export interface ExtractBodySpec {
  jsonPaths: string[];
  xPaths: string[];
  namespaces: Record<string, string>;
}

/** One query's result: the extracted text, nothing selected, or a selection too large to extract. */
export type Extracted = { value: string } | { unresolved: true } | { tooLarge: number };

export interface ExtractBodyResult {
  /** Per JSONPath, in order; `unreadable` when the body is not JSON. Absent without JSONPaths. */
  json?: Extracted[] | 'unreadable';
  /** Per XPath, in order; `unreadable` when the body is not acceptable XML. Absent without XPaths. */
  xml?: Extracted[] | 'unreadable';
}

const compiledQueries = new Map<string, { json: CompiledJsonPath[]; xml: CompiledXPath[] }>();
const MAX_CACHED_SPECS = 256;

function queriesFor(key: string, spec: ExtractBodySpec): { json: CompiledJsonPath[]; xml: CompiledXPath[] } {
  let compiled = compiledQueries.get(key);
  if (compiled) return compiled;
  compiled = {
    json: spec.jsonPaths.map((p) => compileJsonPath(p)),
    xml: spec.xPaths.map((x) => compileXPath(x, spec.namespaces)),
  };
  if (compiledQueries.size >= MAX_CACHED_SPECS) compiledQueries.delete(compiledQueries.keys().next().value!);
  compiledQueries.set(key, compiled);
  return compiled;
}

/**
 * The task `extract.body`. Several JSON values extract as the JSON of their list, which for values
 * nested in one another (`$..*`) repeats their text: it is built only up to twice the body's size (plus
 * 1 KiB), beyond which the query reports `tooLarge` instead of allocating it.
 */
export function extractBodyTask(input: { body: Uint8Array; spec: ExtractBodySpec; key: string }): ExtractBodyResult {
  const queries = queriesFor(input.key, input.spec);
  const text = decodeBody(input.body);
  const result: ExtractBodyResult = {};
  if (queries.json.length > 0) {
    const maxChars = 2 * input.body.length + 1024;
    try {
      const json = parseJsonText(text);
      result.json = queries.json.map((path): Extracted => {
        const values = path.values(json);
        if (values.length === 0) return { unresolved: true };
        if (values.length === 1) return { value: jsonValueText(values[0]) };
        const list = boundedJsonText(values, maxChars);
        return list === undefined ? { tooLarge: maxChars } : { value: list };
      });
    } catch (error) {
      if (!(error instanceof BodyParseError)) throw error;
      result.json = 'unreadable';
    }
  }
  if (queries.xml.length > 0) {
    try {
      const document = parseXmlDocument(text);
      result.xml = queries.xml.map((xpath): Extracted => {
        const first = xpath.first(document);
        return first === undefined ? { unresolved: true } : { value: first };
      });
    } catch (error) {
      if (!(error instanceof XmlViolation)) throw error;
      result.xml = 'unreadable';
    }
  }
  return result;
}

function failure(meta: PolicyMeta, errorCode: string, reason: string): PolicyFault {
  return new PolicyFault({
    status: 500,
    errorCode,
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
    const jsonPaths = config.jsonPayload ?? [];
    const xPaths = config.xmlPayload?.variables ?? [];
    for (const { xPath } of xPaths) compileXPathOrThrow(xPath, config.xmlPayload?.namespaces, meta);
    const spec: ExtractBodySpec = {
      jsonPaths: jsonPaths.map((j) => j.jsonPath),
      xPaths: xPaths.map((x) => x.xPath),
      namespaces: config.xmlPayload?.namespaces ?? {},
    };
    const key = JSON.stringify(spec);

    const unresolved = (what: string) => {
      if (!ignoreUnresolved)
        throw failure(meta, 'steps.extractvariables.ExecutionFailed', `Unresolved variable : ${what}`);
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

    /** Sets each query's variable in order; an unresolved one fails the step unless ignored. */
    const apply = (ctx: PolicyContext, names: string[], queries: string[], results: Extracted[]) => {
      results.forEach((result, i) => {
        if ('value' in result) ctx.variables.set(variableName(names[i]!), result.value);
        else if ('unresolved' in result) unresolved(queries[i]!);
        else
          throw failure(
            meta,
            'steps.extractvariables.ExecutionFailed',
            `the values ${queries[i]!} selects exceed ${result.tooLarge} characters`,
          );
      });
    };

    const fromBody = (ctx: PolicyContext, result: ExtractBodyResult) => {
      if (result.json === 'unreadable') {
        if (!ignoreUnresolved)
          throw failure(meta, 'steps.extractvariables.JsonPathParsingFailure', 'the body is not valid JSON');
      } else if (result.json) {
        apply(
          ctx,
          jsonPaths.map((j) => j.name),
          spec.jsonPaths,
          result.json,
        );
      }
      if (result.xml === 'unreadable') {
        if (!ignoreUnresolved)
          throw failure(meta, 'steps.extractvariables.ExecutionFailed', 'the body is not acceptable XML');
      } else if (result.xml) {
        apply(
          ctx,
          xPaths.map((x) => x.name),
          spec.xPaths,
          result.xml,
        );
      }
      return undefined;
    };

    return (ctx) => {
      const message = messageOf(ctx, config.source);
      if (!message) {
        // Apigee's SourceMessageNotAvailable, with its faultstring.
        if (ignoreUnresolved) return undefined;
        throw new PolicyFault({
          status: 500,
          errorCode: 'steps.extractvariables.SourceMessageNotAvailable',
          faultString: `${config.source ?? ctx.phase} message is not available for ExtractVariable: ${meta.name}`,
        });
      }
      // The payload is parsed as configured, whatever its type says, but never one whose Content-Type
      // names several media types or none that parses (bodyKind throws: 400, as every guard answers).
      if (jsonPaths.length > 0 || xPaths.length > 0) bodyKind(message);
      fromPatterns(ctx, message);
      if (jsonPaths.length === 0 && xPaths.length === 0) return undefined;
      return settle(ctx.offload.run('extract.body', { body: message.body.bytes(), spec, key }), (result) =>
        fromBody(ctx, result),
      );
    };
  },
};
