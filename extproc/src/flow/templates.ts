// Message templates at run time (docs/policies-templates.md): each template is parsed once per mode
// (text, JSON payload, XML payload) into parts that know their lexical context
// (protos/policies/templates.ts), and rendering only looks values up, calls functions and escapes each
// value for its context, so a value can never leave the string, text or attribute it was put in.
// Policies compile their templates at create(); `expandTemplate` keeps a bounded cache for the rest.
import { classifyContentType } from '../../../protos/policies/content-type.ts';
import {
  parseTemplate,
  payloadModes,
  templateModeForKind,
  type CallPart,
  type TemplateArg,
  type TemplateContext,
  type TemplateDelimiters,
  type TemplateMode,
  type TemplatePart,
} from '../../../protos/policies/templates.ts';
import {
  callTemplateFunction,
  jsonStringContent,
  xmlAttribute,
  xmlCdata,
  xmlComment,
  xmlText,
} from './template-functions.ts';
import { DuplicateContentTypeError, MalformedContentTypeError } from './message.ts';
import type { RequestMessage, ResponseMessage, Variables } from './types.ts';

export type TemplateVariables = Pick<Variables, 'getString'>;

export interface CompiledTemplate {
  readonly mode: TemplateMode;
  render(variables: TemplateVariables): string;
}

const ESCAPE: Record<TemplateContext, (value: string) => string> = {
  raw: (value) => value,
  'json-string': jsonStringContent,
  'xml-text': xmlText,
  'xml-attribute': xmlAttribute,
  'xml-cdata': xmlCdata,
  'xml-comment': xmlComment,
};

/**
 * A call whose result is already escaped for its context is not escaped again (Apigee's own advice
 * is `"{escapeJSON(v)}"` in a JSON payload): escapeJSON in a JSON string, escapeXML/escapeXML11 in
 * XML text and attribute values. Their output cannot leave the context: they escape what it needs.
 */
function alreadyEscaped(part: CallPart): boolean {
  if (part.context === 'json-string') return part.fn === 'escapeJSON';
  if (part.context === 'xml-text' || part.context === 'xml-attribute')
    return part.fn === 'escapeXML' || part.fn === 'escapeXML11';
  return false;
}

function resolver(variables: TemplateVariables): (arg: TemplateArg) => string | undefined {
  return (arg) => (arg.kind === 'literal' ? arg.value : (variables.getString(arg.name) ?? arg.fallback));
}

/** Parses `text` for `mode` (throws the template errors of protos/policies/templates.ts). */
export function compileTemplate(
  text: string,
  mode: TemplateMode = 'text',
  delimiters?: TemplateDelimiters,
): CompiledTemplate {
  const parts: TemplatePart[] = parseTemplate(text, mode, delimiters);
  if (parts.every((p) => typeof p === 'string')) {
    const constant = parts.join('');
    return { mode, render: () => constant };
  }
  return {
    mode,
    render(variables) {
      const resolve = resolver(variables);
      let out = '';
      for (const part of parts) {
        if (typeof part === 'string') {
          out += part;
        } else if (part.kind === 'variable') {
          out += ESCAPE[part.context](resolve(part) ?? '');
        } else {
          const value = callTemplateFunction(part.fn, part.args, resolve) ?? '';
          out += alreadyEscaped(part) ? value : ESCAPE[part.context](value);
        }
      }
      return out;
    },
  };
}

const MAX_CACHED = 4096;
const cache = new Map<string, CompiledTemplate>();

/** Expands a template, parsed once per (mode, text) and kept in a bounded cache. */
export function expandTemplate(text: string, variables: TemplateVariables, mode: TemplateMode = 'text'): string {
  if (!text.includes('{')) return text;
  const key = `${mode}\u0000${text}`;
  let compiled = cache.get(key);
  if (!compiled) {
    compiled = compileTemplate(text, mode);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, compiled);
  }
  return compiled.render(variables);
}

/**
 * A payload template whose mode depends on the message it is written to (AssignMessage without
 * `contentType`): compiled lazily, at most once per mode.
 */
export class TemplateByMode {
  private readonly text: string;
  private readonly delimiters: TemplateDelimiters | undefined;
  private readonly compiled: Partial<Record<TemplateMode, CompiledTemplate>> = {};

  constructor(text: string, delimiters?: TemplateDelimiters) {
    this.text = text;
    this.delimiters = delimiters;
  }

  get(mode: TemplateMode): CompiledTemplate {
    return (this.compiled[mode] ??= compileTemplate(this.text, mode, this.delimiters));
  }
}

/** A payload (AssignMessage `set.payload`, RaiseFault `payload`): rendered in its content type's mode. */
export interface PayloadTemplate {
  /**
   * Renders the payload for the message it will replace the body of. Without a configured content
   * type the message's Content-Type decides the mode (its kind; a template that looks like JSON or XML
   * when the message has none), and an ambiguous one is refused as every guard refuses it.
   */
  render(variables: TemplateVariables, target?: RequestMessage | ResponseMessage): string;
}

export function compilePayloadTemplate(
  content: string,
  contentType: string | undefined,
  delimiters?: TemplateDelimiters,
): PayloadTemplate {
  const first = payloadModes(content, contentType)[0] ?? 'text';
  if (contentType !== undefined) {
    const compiled = compileTemplate(content, first, delimiters);
    return { render: (variables) => compiled.render(variables) };
  }
  const byMode = new TemplateByMode(content, delimiters);
  return {
    render(variables, target) {
      const side = target && 'method' in target ? 'request' : 'response';
      const verdict = classifyContentType(target?.headers.getAll('content-type') ?? []);
      switch (verdict.status) {
        case 'many':
          throw new DuplicateContentTypeError(side, verdict.count);
        case 'malformed':
          throw new MalformedContentTypeError(side);
        case 'one':
          return byMode.get(templateModeForKind(verdict.kind)).render(variables);
        case 'none':
          return byMode.get(first).render(variables);
      }
    },
  };
}
