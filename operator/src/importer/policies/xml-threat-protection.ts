// <XMLThreatProtection> -> XMLThreatProtection (docs/policies.md#xmlthreatprotection).
import type { XmlElement } from '../xml.ts';
import { compact, int, messageSource, type PolicyContext, type PolicyConverter } from './support.ts';

const lower = (s: string) => s[0]!.toLowerCase() + s.slice(1);

function group(parent: XmlElement | undefined, members: string[], ctx: PolicyContext) {
  if (!parent) return undefined;
  const out: Record<string, unknown> = {};
  for (const m of members) {
    const c = parent.child(m);
    if (!c || /^-\d+$/.test(c.text)) continue;
    out[m === 'NamespaceURI' ? 'namespaceURI' : lower(m)] = int(c.text, c.xpath, ctx, { min: 0, max: 1e9 });
  }
  const o = compact(out);
  return Object.keys(o).length > 0 ? o : undefined;
}

export const xmlThreatProtectionConverter: PolicyConverter = {
  type: 'XMLThreatProtection',
  convert(el, ctx) {
    const structure = el.child('StructureLimits');
    const childCount = structure?.child('ChildCount');
    if (childCount)
      for (const a of ['includeComment', 'includeElement', 'includeProcessingInstruction', 'includeText']) {
        const v = childCount.attr(a);
        if (v !== undefined && v !== 'true')
          ctx.unsupported(`${childCount.xpath}/@${a}`, 'Gatehouse counts every kind of child node');
      }
    return compact({
      source: messageSource(el.child('Source'), ctx),
      nameLimits: group(
        el.child('NameLimits'),
        ['Element', 'Attribute', 'NamespacePrefix', 'ProcessingInstructionTarget'],
        ctx,
      ),
      structureLimits: group(
        structure,
        ['NodeDepth', 'AttributeCountPerElement', 'NamespaceCountPerElement', 'ChildCount'],
        ctx,
      ),
      valueLimits: group(
        el.child('ValueLimits'),
        ['Text', 'Attribute', 'NamespaceURI', 'Comment', 'ProcessingInstructionData'],
        ctx,
      ),
    });
  },
};
