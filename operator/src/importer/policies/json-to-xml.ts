// <JSONToXML> -> JSONToXML (docs/policies.md#jsontoxml): <Source>, <OutputVariable> and every <Options>
// member map one to one.
import { sourceAndOutput, stringOptions } from './conversion-common.ts';
import { compact, type PolicyConverter } from './support.ts';

const options = [
  'NullValue',
  'NamespaceBlockName',
  'DefaultNamespaceNodeName',
  'NamespaceSeparator',
  'TextNodeName',
  'AttributeBlockName',
  'AttributePrefix',
  'InvalidCharsReplacement',
  'ObjectRootElementName',
  'ArrayRootElementName',
  'ArrayItemElementName',
];

export const jsonToXmlConverter: PolicyConverter = {
  type: 'JSONToXML',
  convert(el, ctx) {
    const o = el.child('Options');
    const opts = stringOptions(o, options);
    // Gatehouse always writes the XML declaration and never indents: false (Apigee's default) is that.
    for (const name of ['OmitXmlDeclaration', 'Indent']) {
      const c = o?.child(name);
      if (c && c.text.toLowerCase() !== 'false') ctx.unsupported(c.xpath, `${name} ${c.text} has no counterpart`);
    }
    return compact({ ...sourceAndOutput(el, ctx), options: Object.keys(opts).length > 0 ? opts : undefined });
  },
};
