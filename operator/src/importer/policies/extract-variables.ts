// <ExtractVariables> -> ExtractVariables (docs/policies.md#extractvariables).
import type { XmlElement } from '../xml.ts';
import { bool, compact, messageSource, type PolicyContext, type PolicyConverter } from './support.ts';

function patterns(el: XmlElement, ctx: PolicyContext): string[] {
  return el.all('Pattern').map((p) => {
    const pattern = p.rawText.trim();
    // ignoreCase matters only where the literal text around the {variables} has letters.
    if (p.attr('ignoreCase') === 'true' && /[A-Za-z]/.test(pattern.replace(/\{[^}]*\}/g, '')))
      ctx.unsupported(`${p.xpath}/@ignoreCase`, 'matching is case-sensitive in Gatehouse');
    return pattern;
  });
}

function named(el: XmlElement, child: string, ctx: PolicyContext) {
  const out = el.all(child).flatMap((c) => {
    const name = c.attr('name');
    if (!name) {
      ctx.unsupported(c.xpath, `<${child}> without a name`);
      return [];
    }
    return [{ name, patterns: patterns(c, ctx) }];
  });
  return out.length > 0 ? out : undefined;
}

function typed(v: XmlElement, ctx: PolicyContext) {
  const type = v.attr('type');
  if (type !== undefined && type !== 'string' && type !== 'nodeset')
    ctx.unsupported(`${v.xpath}/@type`, `values are always text in Gatehouse (type "${type}")`);
}

export const extractVariablesConverter: PolicyConverter = {
  type: 'ExtractVariables',
  convert(el, ctx) {
    const source = el.child('Source');
    if (source?.attr('clearPayload') === 'true')
      ctx.unsupported(`${source.xpath}/@clearPayload`, 'no clearPayload in Gatehouse');
    const uriPath = el.all('URIPath').flatMap((u) => patterns(u, ctx));
    const json = el.child('JSONPayload');
    const jsonPayload = json?.all('Variable').map((v) => {
      typed(v, ctx);
      return { name: v.attr('name') ?? '', jsonPath: v.childText('JSONPath') ?? '' };
    });
    const xml = el.child('XMLPayload');
    let xmlPayload;
    if (xml) {
      if (xml.attr('stopPayloadProcessing') === 'true')
        ctx.unsupported(`${xml.xpath}/@stopPayloadProcessing`, 'no stopPayloadProcessing in Gatehouse');
      const ns: Record<string, string> = {};
      for (const n of xml.child('Namespaces')?.all('Namespace') ?? []) {
        const prefix = n.attr('prefix');
        if (prefix) ns[prefix] = n.text;
      }
      xmlPayload = compact({
        namespaces: Object.keys(ns).length > 0 ? ns : undefined,
        variables: xml.all('Variable').map((v) => {
          typed(v, ctx);
          return { name: v.attr('name') ?? '', xPath: v.childText('XPath') ?? '' };
        }),
      });
    }
    return compact({
      source: messageSource(source, ctx),
      variablePrefix: el.childText('VariablePrefix'),
      ignoreUnresolvedVariables: bool(el.child('IgnoreUnresolvedVariables'), ctx),
      uriPath: uriPath.length > 0 ? uriPath : undefined,
      queryParams: named(el, 'QueryParam', ctx),
      headers: named(el, 'Header', ctx),
      formParams: named(el, 'FormParam', ctx),
      variables: named(el, 'Variable', ctx),
      jsonPayload: jsonPayload && jsonPayload.length > 0 ? jsonPayload : undefined,
      xmlPayload,
    });
  },
};
