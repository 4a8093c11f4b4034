// ApiPolicies: a schema-valid ApiPolicy is accepted when its config passes the type's own checks (what
// JSON Schema cannot say). Its type is implemented: the schema's enum holds only implemented types.
import { policyTypesByName } from '../../../protos/policies/index.ts';
import { policySecretId, secretRefsIn } from '../../../protos/policies/schema.ts';
import { memberOf } from '../api/apipolicy.ts';
import { idKey, sortedRecord, type Inventory } from './intake.ts';
import { inlineCredentials } from './inline-credentials.ts';
import type { IrPolicy } from './ir.ts';
import { reportMissingRef, reporterFor, sortedValues, type Report } from './report.ts';

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
    // {secretRef: {name, key}}: a key of a Secret of the namespace. The value goes to the snapshot's
    // policy_secrets, apart from the config, which keeps naming the reference.
    const secrets: Record<string, string> = {};
    const r = reporterFor(entry, report);
    const ns = entry.id.namespace;
    for (const { path, ref } of secretRefsIn(typeSpec.schema, config)) {
      const field = `spec.${member}.${path}.secretRef`;
      const secret = inventory.secrets.get(`${ns}/${ref.name}`);
      if (!secret) {
        reportMissingRef(r, inventory, `${field}.name`, 'Secret', ns, ref.name);
        continue;
      }
      if (!Object.hasOwn(secret.object.values, ref.key)) {
        r.unresolved(`${field}.key`, `Secret "${ref.name}" has no key "${ref.key}"`, 'RefNotAccepted');
        continue;
      }
      secrets[policySecretId(ns, ref)] = secret.object.values[ref.key]!;
    }
    if (r.failed) {
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    for (const { path } of inlineCredentials(spec.type, config)) {
      report({
        severity: 'warning',
        code: 'GH_WARN_COMPILE_INLINE_CREDENTIAL',
        ...entry.origin,
        ...entry.id,
        field: `spec.${member}.${path}`,
        message:
          'looks like a credential written inline: it stands in the snapshot in clear; use a template of a variable, or BasicAuthentication Encode with a secretRef',
      });
    }
    out.set(`${metadata.namespace}/${metadata.name}`, {
      name: metadata.name,
      type: spec.type,
      continueOnError: spec.continueOnError ?? false,
      enabled: spec.enabled ?? true,
      config,
      spec: typeSpec,
      secrets: sortedRecord(secrets),
    });
  }
  return out;
}
