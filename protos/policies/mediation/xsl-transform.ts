// XSLTransform: an XSLT 1.0 stylesheet applied to a message's XML body or to an XML variable, its
// output written back to the message content or into a variable (docs/policies.md#xsltransform).
// The stylesheet is inline in the config (Apigee's ResourceURL xsl://name names it); it is checked
// here, at compile time and again at extproc's create(): well-formed, no DOCTYPE, an xsl:stylesheet,
// and nothing that reaches outside the message (xsl:include, xsl:import, document()).
import type { PolicyTypeSpec } from '../index.ts';
import {
  inlineTextProblems,
  textOrConfigMap,
  type ConfigMapRef,
  type ConfigProblem,
  type JSONSchema,
} from '../schema.ts';
import { MAX_XML_RESOURCE_CHARS, readXmlResource } from './xml-resource.ts';

export const XSLT_NAMESPACE = 'http://www.w3.org/1999/XSL/Transform';

export interface XSLParameter {
  name: string;
  /** A flow variable whose value is passed; wins over `value` when it resolves. */
  ref?: string;
  value?: string;
}

export interface XSLTransformConfig {
  /**
   * What is transformed: "request" or "response" (the message's body), or the name of a flow variable
   * holding XML text; default the message of the phase the step runs in.
   */
  source?: string;
  /** Where the output goes; absent: the source message's content (a variable source needs one). */
  outputVariable?: string;
  /** The label Apigee's ResourceURL gives the stylesheet: xsl://name. */
  resourceURL?: string;
  /** The XSLT 1.0 stylesheet itself (the operator puts a configMapRef's text here). */
  stylesheet: string;
  /** Instead of stylesheet: a key of a ConfigMap of the namespace (resolved by the operator). */
  configMapRef?: ConfigMapRef;
  parameters?: { ignoreUnresolvedVariables?: boolean; parameter: XSLParameter[] };
}

const name = (description: string): JSONSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: 256,
  pattern: '^[A-Za-z0-9_.-]+$',
  description,
});

/** Functions of XSLT 1.0 (and later versions) that read a document other than the source. */
const EXTERNAL_FUNCTIONS = /\b(document|doc|doc-available|unparsed-text|unparsed-text-lines|collection|json-doc)\s*\(/;

/** Problems with a stylesheet, each naming the field; empty when it is acceptable. */
export function stylesheetProblems(text: string, path = 'stylesheet'): ConfigProblem[] {
  const read = readXmlResource(text);
  if ('problem' in read) return [{ path, message: `the stylesheet is not usable: ${read.problem}` }];
  const [root] = read.elements;
  if (!root || root.namespace !== XSLT_NAMESPACE || !['stylesheet', 'transform'].includes(root.localName)) {
    return [{ path, message: `the root element must be xsl:stylesheet or xsl:transform in ${XSLT_NAMESPACE}` }];
  }
  const problems: ConfigProblem[] = [];
  for (const element of read.elements) {
    if (element.namespace === XSLT_NAMESPACE && ['include', 'import'].includes(element.localName)) {
      problems.push({
        path,
        message: `xsl:${element.localName} is not allowed: the stylesheet must be self-contained`,
      });
    }
    for (const [attr, value] of Object.entries(element.attributes)) {
      const called = EXTERNAL_FUNCTIONS.exec(value);
      if (called) {
        problems.push({
          path,
          message: `${called[1]}() (in ${element.localName}/@${attr}) is not allowed: it reads other documents`,
        });
      }
    }
  }
  return problems;
}

function validateXslTransform(config: XSLTransformConfig): ConfigProblem[] {
  const pending = inlineTextProblems(xslTransform.schema, config);
  if (pending.length > 0) return pending;
  const problems = stylesheetProblems(config.stylesheet);
  const source = config.source ?? 'message';
  if (!['request', 'response', 'message'].includes(source) && config.outputVariable === undefined) {
    problems.push({
      path: 'outputVariable',
      message: 'required when source is a variable (there is no message to write to)',
    });
  }
  for (const [i, p] of (config.parameters?.parameter ?? []).entries()) {
    if (p.ref === undefined && p.value === undefined) {
      problems.push({ path: `parameters.parameter[${i}]`, message: 'needs ref or value' });
    }
  }
  return problems;
}

export const xslTransform: PolicyTypeSpec = {
  type: 'XSLTransform',
  member: 'xslTransform',
  group: 'mediation',
  schema: textOrConfigMap(
    {
      type: 'object',
      description:
        'XSLTransform: applies an XSLT 1.0 stylesheet to an XML message body or variable. No xsl:include, xsl:import or document(); DOCTYPE refused in stylesheet and input; runs on the worker pool within the phase budget. Apigee: <XSL>.',
      required: ['stylesheet'],
      properties: {
        source: {
          ...name(
            'What is transformed: request or response (its body), or a flow variable holding XML; default the message of the phase the step runs in. Apigee: <Source>.',
          ),
        },
        outputVariable: name(
          'The flow variable the output is written to; absent: the output replaces the source message content. Apigee: <OutputVariable>.',
        ),
        resourceURL: {
          type: 'string',
          pattern: '^xsl://[A-Za-z0-9_.-]+$',
          maxLength: 256,
          description:
            'A label for the stylesheet, xsl://name, as Apigee names it; the stylesheet itself is `stylesheet`. Apigee: <ResourceURL>.',
        },
        stylesheet: {
          type: 'string',
          minLength: 1,
          maxLength: MAX_XML_RESOURCE_CHARS,
          description:
            'The XSLT 1.0 stylesheet (xsl:stylesheet or xsl:transform), inline; or configMapRef. Checked at compile time: well-formed, no DOCTYPE, no xsl:include/xsl:import, no document(). Apigee: the xsl resource ResourceURL names.',
        },
        parameters: {
          type: 'object',
          description: 'Stylesheet parameters (xsl:param) passed from outside. Apigee: <Parameters>.',
          required: ['parameter'],
          properties: {
            ignoreUnresolvedVariables: {
              type: 'boolean',
              description:
                'When true a ref that does not resolve passes its value (or nothing); when false (default) the step fails with steps.xsl.XSLEvaluationFailed. Apigee: ignoreUnresolvedVariables.',
            },
            parameter: {
              type: 'array',
              maxItems: 32,
              description: 'At most 32 parameters. Apigee: <Parameter>.',
              items: {
                type: 'object',
                required: ['name'],
                description: 'One parameter: its name and a ref or a value. Apigee: <Parameter name ref value>.',
                properties: {
                  name: name('The xsl:param name.'),
                  ref: name('A flow variable whose value is passed. Apigee: ref.'),
                  value: {
                    type: 'string',
                    maxLength: 8192,
                    description: 'A literal value, used when there is no ref or it does not resolve. Apigee: value.',
                  },
                },
              },
            },
          },
        },
      },
    },
    'stylesheet',
  ),
  needsBody: (config, phase) => {
    const source = (config as XSLTransformConfig).source;
    return source === undefined || source === phase;
  },
  validate: (config) => validateXslTransform(config as XSLTransformConfig),
};
