// <FlowCallout> -> FlowCallout (docs/policies.md#flowcallout). <SharedFlowBundle> names the shared flow
// bundle, which imports as a SharedFlow named as the importer names that bundle (names.ts), so the two
// meet when both bundles are imported into one namespace. <Parameter name="n">text</Parameter>,
// value= or ref= become parameters.
import { deriveNames } from '../names.ts';
import { compact, type PolicyConverter } from './support.ts';

export const flowCalloutConverter: PolicyConverter = {
  type: 'FlowCallout',
  convert(el, ctx) {
    const bundle = el.child('SharedFlowBundle');
    const bundleName = bundle?.text.trim();
    if (!bundle || !bundleName) {
      ctx.unsupported(el.xpath, 'no <SharedFlowBundle>: the shared flow to call is unknown');
      return undefined;
    }
    const parameters = (el.child('Parameters')?.all('Parameter') ?? []).flatMap((p) => {
      const name = p.attr('name');
      const ref = p.attr('ref');
      const value = p.attr('value') ?? (p.text.trim() === '' ? undefined : p.text);
      if (!name || (ref === undefined) === (value === undefined)) {
        ctx.unsupported(p.xpath, 'a parameter needs a name and exactly one of a value (text or value=) or ref=');
        return [];
      }
      if (/^(request|response|message)(\.|$)/.test(name)) {
        ctx.unsupported(p.xpath, `"${name}" is a message variable: a parameter sets a flow variable only`);
        return [];
      }
      return [compact({ name, ref, value })];
    });
    return compact({
      sharedFlowBundle: deriveNames([bundleName]).get(bundleName)!,
      parameters: parameters.length > 0 ? parameters : undefined,
    });
  },
};
