// <RegularExpressionProtection> -> RegularExpressionProtection (docs/policies.md#regularexpressionprotection).
// Patterns are kept as written; the compiler refuses those RE2 cannot run (look-arounds,
// back-references), and the importer reports the policy then.
import type { XmlElement } from '../xml.ts';
import { compact, messageSource, type PolicyContext, type PolicyConverter } from './support.ts';

const patterns = (el: XmlElement) => el.all('Pattern').map((p) => p.rawText.trim());

function named(el: XmlElement, child: string, ctx: PolicyContext) {
  const out = el.all(child).flatMap((c) => {
    const name = c.attr('name');
    if (!name) {
      ctx.unsupported(c.xpath, `<${child}> without a name`);
      return [];
    }
    return [{ name, patterns: patterns(c) }];
  });
  return out.length > 0 ? out : undefined;
}

function expressions(parent: XmlElement, child: string, ctx: PolicyContext) {
  return parent.all(child).map((x) => {
    const type = x.child('Type');
    if (type && type.text !== '' && type.text !== 'string' && type.text !== 'nodeset')
      ctx.unsupported(type.xpath, `XPath result type "${type.text}": Gatehouse matches the selected text`);
    return { expression: x.childText('Expression') ?? '', patterns: patterns(x) };
  });
}

export const regularExpressionProtectionConverter: PolicyConverter = {
  type: 'RegularExpressionProtection',
  convert(el, ctx) {
    const ignore = el.child('IgnoreUnresolvedVariables');
    if (ignore && ignore.text.toLowerCase() === 'false')
      ctx.unsupported(ignore.xpath, 'Gatehouse skips a source that is not there; it never raises for it');
    const uri = el.all('URIPath').flatMap(patterns);
    const json = el.child('JSONPayload');
    const xml = el.child('XMLPayload');
    let xmlPayload;
    if (xml) {
      const ns: Record<string, string> = {};
      for (const n of xml.child('Namespaces')?.all('Namespace') ?? []) {
        const prefix = n.attr('prefix');
        if (prefix) ns[prefix] = n.text;
      }
      xmlPayload = compact({
        namespaces: Object.keys(ns).length > 0 ? ns : undefined,
        xPaths: expressions(xml, 'XPath', ctx),
      });
    }
    return compact({
      source: messageSource(el.child('Source'), ctx),
      uriPath: uri.length > 0 ? uri : undefined,
      queryParams: named(el, 'QueryParam', ctx),
      headers: named(el, 'Header', ctx),
      formParams: named(el, 'FormParam', ctx),
      variables: named(el, 'Variable', ctx),
      jsonPayload: json ? expressions(json, 'JSONPath', ctx) : undefined,
      xmlPayload,
    });
  },
};
