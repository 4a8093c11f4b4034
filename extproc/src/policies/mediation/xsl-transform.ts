// XSLTransform (docs/policies.md#xsltransform): an XSLT 1.0 stylesheet applied to an XML message body or
// variable with xslt-processor (pure JS; chosen by conformance and licence, the table in docs/policies.md).
// The stylesheet was checked at compile time (protos/policies/mediation/xsl-transform.ts) and is checked
// again here; the input is scanned before it is parsed (DOCTYPE refused, depth and size bounded), and
// the engine is given loaders that refuse every URI, so neither an include nor document() can read a
// file or the network even if a check were missed. The transform is the task `xsl.transform`
// (workers/tasks.ts), which always runs on the worker pool when there is one: a stylesheet can loop, and
// the pool's phase budget is what stops it.
import { XmlParser, Xslt } from 'xslt-processor';
import { stylesheetProblems, type XSLTransformConfig } from '../../../../protos/policies/mediation/xsl-transform.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { decodeBody } from '../../flow/message.ts';
import type { PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { PolicyConfigError } from '../support.ts';
import { MAX_XPATH_DOCUMENT_DEPTH, NO_XML_LIMITS, scanXml, XmlViolation } from '../xml.ts';

/** The largest input transformed, in bytes: checked before the scan, so a huge body costs nothing. */
export const MAX_XSLT_INPUT_BYTES = 4 * 1024 * 1024;

const INPUT_LIMITS = { ...NO_XML_LIMITS, nodeDepth: MAX_XPATH_DOCUMENT_DEPTH };

export interface XslTransformInput {
  body: Uint8Array;
  stylesheet: string;
  parameters: Array<{ name: string; value: string }>;
}

export type XslTransformResult = { output: string } | { failure: string };

/**
 * Parsed stylesheets by their text, per thread: parsing one is a third of a small transform's time
 * (measured on the conformance set), and the engine reads a stylesheet's tree without changing it
 * (each conformance case gives the same output on three runs from one parsed tree).
 */
const parsedStylesheets = new Map<string, ReturnType<XmlParser['xmlParse']>>();
const MAX_PARSED_STYLESHEETS = 64;

function parsedStylesheet(parser: XmlParser, text: string): ReturnType<XmlParser['xmlParse']> {
  let parsed = parsedStylesheets.get(text);
  if (parsed === undefined) {
    parsed = parser.xmlParse(text);
    if (parsedStylesheets.size >= MAX_PARSED_STYLESHEETS) {
      parsedStylesheets.delete(parsedStylesheets.keys().next().value!);
    }
    parsedStylesheets.set(text, parsed);
  }
  return parsed;
}

function refuseExternal(uri: string): never {
  throw new Error(`external resources are not allowed (${uri.slice(0, 128)})`);
}

/** The task `xsl.transform`: the output text, or why the input or the transform failed. */
export async function xslTransformTask(input: XslTransformInput): Promise<XslTransformResult> {
  if (input.body.length > MAX_XSLT_INPUT_BYTES) {
    return { failure: `the input is larger than ${MAX_XSLT_INPUT_BYTES} bytes` };
  }
  const text = decodeBody(input.body);
  try {
    scanXml(text, INPUT_LIMITS);
  } catch (error) {
    if (error instanceof XmlViolation) return { failure: `the input is not acceptable XML: ${error.message}` };
    throw error;
  }
  try {
    const parser = new XmlParser();
    const xslt = new Xslt({
      cData: true,
      escape: true,
      selfClosingTags: true,
      parameters: input.parameters,
      fetchFunction: (uri) => Promise.reject(new Error(`external resources are not allowed (${uri.slice(0, 128)})`)),
      documentLoader: refuseExternal,
    });
    const output = await xslt.xsltProcess(parser.xmlParse(text), parsedStylesheet(parser, input.stylesheet));
    return { output };
  } catch (error) {
    return { failure: error instanceof Error ? error.message : String(error) };
  }
}

function fault(ctx: PolicyContext, meta: PolicyMeta, errorCode: string, faultString: string): PolicyFault {
  ctx.variables.set(`xsl.${meta.name}.failed`, true);
  return new PolicyFault({ status: 500, errorCode, faultString });
}

/** The input: a message's body or a variable's text; undefined when it is not there. */
function sourceText(ctx: PolicyContext, source: string | undefined): Uint8Array | undefined {
  const name = source ?? ctx.phase;
  if (name === 'request' || (name === 'message' && ctx.phase === 'request')) return ctx.request.body.bytes();
  if (name === 'response' || name === 'message') return ctx.response?.body.bytes();
  const value = ctx.variables.getString(name);
  return value === undefined ? undefined : Buffer.from(value, 'utf8');
}

export const xslTransformPolicy: PolicyImplementation<XSLTransformConfig> = {
  type: 'XSLTransform',
  create(config, meta) {
    const problems = stylesheetProblems(config.stylesheet);
    if (problems.length > 0)
      throw new PolicyConfigError(meta, problems.map((p) => `xslTransform.${p.path}: ${p.message}`).join('; '));
    const ignoreUnresolved = config.parameters?.ignoreUnresolvedVariables ?? false;
    return async (ctx) => {
      const body = sourceText(ctx, config.source);
      if (body === undefined || body.length === 0) {
        throw fault(
          ctx,
          meta,
          'steps.xsl.XSLSourceMessageNotAvailable',
          `${config.source ?? ctx.phase} message is not available for XSL: ${meta.name}`,
        );
      }
      const parameters: Array<{ name: string; value: string }> = [];
      for (const p of config.parameters?.parameter ?? []) {
        const resolved = p.ref === undefined ? undefined : ctx.variables.getString(p.ref);
        if (p.ref !== undefined && resolved === undefined && p.value === undefined && !ignoreUnresolved) {
          // Apigee documents no code of its own for this: its runtime errors are the two used here.
          throw fault(
            ctx,
            meta,
            'steps.xsl.XSLEvaluationFailed',
            `Evaluation of XSL ${meta.name} failed with reason: unresolved variable ${p.ref}`,
          );
        }
        const value = resolved ?? p.value;
        if (value !== undefined) parameters.push({ name: p.name, value });
      }
      const result = await ctx.offload.run('xsl.transform', { body, stylesheet: config.stylesheet, parameters });
      if ('failure' in result) {
        throw fault(
          ctx,
          meta,
          'steps.xsl.XSLEvaluationFailed',
          `Evaluation of XSL ${meta.name} failed with reason: ${result.failure}`,
        );
      }
      ctx.variables.set(`xsl.${meta.name}.failed`, false);
      if (config.outputVariable !== undefined) {
        ctx.variables.set(config.outputVariable, result.output);
        return undefined;
      }
      const target = (config.source ?? ctx.phase) === 'request' ? ctx.request : ctx.response;
      target?.body.setText(result.output);
      return undefined;
    };
  },
};
