// <XMLToJSON> -> XMLToJSON (docs/policies.md#xmltojson): <Source>, <OutputVariable>, <Format> and every
// <Options> member map one to one (Gatehouse applies options given with a format over it, as Apigee).
import type { XmlElement } from '../xml.ts';
import { lowerFirst, sourceAndOutput, stringOptions } from './conversion-common.ts';
import { bool, compact, int, type PolicyContext, type PolicyConverter } from './support.ts';

const formats = ['xml.com', 'yahoo', 'google', 'badgerFish'];
const flags = ['RecognizeNumber', 'RecognizeBoolean', 'RecognizeNull', 'TextAlwaysAsProperty'];
const strings = [
  'NullValue',
  'NamespaceBlockName',
  'DefaultNamespaceNodeName',
  'NamespaceSeparator',
  'TextNodeName',
  'AttributeBlockName',
  'AttributePrefix',
  'OutputPrefix',
  'OutputSuffix',
];

function treatAsArray(el: XmlElement | undefined, ctx: PolicyContext) {
  if (!el) return undefined;
  const paths = el.all('Path').flatMap((p) => {
    if (p.text === '') {
      ctx.unsupported(p.xpath, 'an empty <Path>');
      return [];
    }
    const unwrap = p.attr('unwrap');
    if (unwrap !== undefined && !['true', 'false'].includes(unwrap.toLowerCase()))
      ctx.unsupported(`${p.xpath}/@unwrap`, `"${unwrap}" is not true or false`);
    return [compact({ path: p.text, unwrap: unwrap?.toLowerCase() === 'true' ? true : undefined })];
  });
  return paths.length > 0 ? paths : undefined;
}

export const xmlToJsonConverter: PolicyConverter = {
  type: 'XMLToJSON',
  convert(el, ctx) {
    const o = el.child('Options');
    const opts: Record<string, unknown> = stringOptions(o, strings);
    for (const f of flags) opts[lowerFirst(f)] = bool(o?.child(f), ctx);
    const strip = o?.child('StripLevels');
    if (strip) opts['stripLevels'] = int(strip.text, strip.xpath, ctx, { min: 0, max: 64 });
    opts['treatAsArray'] = treatAsArray(o?.child('TreatAsArray'), ctx);
    const options = compact(opts);
    const formatEl = el.child('Format');
    let format: string | undefined;
    if (formatEl && formatEl.text !== '') {
      format = formats.find((f) => f.toLowerCase() === formatEl.text.toLowerCase());
      if (!format) ctx.unsupported(formatEl.xpath, `format "${formatEl.text}" is not one of ${formats.join(', ')}`);
    }
    return compact({
      ...sourceAndOutput(el, ctx),
      format,
      options: Object.keys(options).length > 0 ? options : undefined,
    });
  },
};
