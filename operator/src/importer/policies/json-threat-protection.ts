// <JSONThreatProtection> -> JSONThreatProtection (docs/policies.md#jsonthreatprotection).
import { compact, int, messageSource, type PolicyConverter } from './support.ts';

const limits = [
  'ArrayElementCount',
  'ContainerDepth',
  'ObjectEntryCount',
  'ObjectEntryNameLength',
  'StringValueLength',
];

export const jsonThreatProtectionConverter: PolicyConverter = {
  type: 'JSONThreatProtection',
  convert(el, ctx) {
    const config: Record<string, unknown> = { source: messageSource(el.child('Source'), ctx) };
    for (const name of limits) {
      const c = el.child(name);
      // Apigee: a negative limit (the UI writes -1) is no limit; so is absence here.
      if (!c || /^-\d+$/.test(c.text)) continue;
      config[name[0]!.toLowerCase() + name.slice(1)] = int(c.text, c.xpath, ctx, { min: 0, max: 1e9 });
    }
    return compact(config);
  },
};
