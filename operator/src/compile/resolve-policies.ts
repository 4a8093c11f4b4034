// ApiPolicies: a schema-valid ApiPolicy is accepted when its config passes the type's own checks (what
// JSON Schema cannot say). Its type is implemented: the schema's enum holds only implemented types.
import { policyTypesByName } from '../../../protos/policies/index.ts';
import { memberOf } from '../api/apipolicy.ts';
import { idKey, type Inventory } from './intake.ts';
import type { IrPolicy } from './ir.ts';
import { reporterFor, sortedValues, type Report } from './report.ts';

/** Accepted policies keyed "namespace/name". */
export function resolvePolicies(inventory: Inventory, report: Report): Map<string, IrPolicy> {
  const out = new Map<string, IrPolicy>();
  for (const entry of sortedValues(inventory.policies)) {
    const { spec, metadata } = entry.object;
    const typeSpec = policyTypesByName.get(spec.type)!; // intake validated spec.type against that enum
    const member = memberOf(spec.type)!;
    const config = spec[member];
    const problems = typeSpec.validate?.(config) ?? [];
    if (problems.length > 0) {
      const r = reporterFor(entry, report);
      for (const p of problems)
        r.invalid(`spec.${member}${p.path === '' || p.path.startsWith('[') ? '' : '.'}${p.path}`, p.message);
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    out.set(`${metadata.namespace}/${metadata.name}`, {
      name: metadata.name,
      type: spec.type,
      continueOnError: spec.continueOnError ?? false,
      enabled: spec.enabled ?? true,
      config,
      spec: typeSpec,
    });
  }
  return out;
}
