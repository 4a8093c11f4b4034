// KeyValueMaps (docs/policies.md#keyvaluemapoperations): a schema-valid KeyValueMap is accepted when it
// is the only one of its namespace, scope, owner and map name, and served when every Secret its
// entries name resolves (else ResolvedRefs=False naming the Secret). Values from Secrets go to the
// snapshot's policy_secrets only; the map's own entries keep naming them by id.
import { kvmAddressId } from '../../../protos/policies/mediation/key-value-map-operations.ts';
import { policySecretId } from '../../../protos/policies/schema.ts';
import { idKey, sortedRecord, type Inventory } from './intake.ts';
import type { IrKeyValueMap } from './ir.ts';
import { reportMissingRef, reporterFor, sortedValues, type Report } from './report.ts';

export function resolveKeyValueMaps(inventory: Inventory, report: Report): IrKeyValueMap[] {
  const out: IrKeyValueMap[] = [];
  const owners = new Map<string, string>();
  for (const entry of sortedValues(inventory.keyValueMaps)) {
    const { spec, metadata } = entry.object;
    const ns = entry.id.namespace;
    const r = reporterFor(entry, report);
    const address = {
      namespace: ns,
      mapName: spec.mapName ?? metadata.name,
      scope: spec.scope,
      environment: spec.scope === 'environment' ? (spec.environment ?? '') : '',
      proxy: spec.scope === 'apiproxy' ? (spec.proxy ?? '') : '',
      policy: spec.scope === 'policy' ? (spec.policy ?? '') : '',
    };
    const id = kvmAddressId(address);
    const owner = owners.get(id);
    if (owner !== undefined) {
      r.invalid(
        'spec.mapName',
        `KeyValueMap "${owner}" already declares map ${address.mapName} at this scope`,
        'DuplicateMap',
      );
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    const entries: Record<string, string[]> = {};
    const secretEntries: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    (spec.entries ?? []).forEach((e, i) => {
      if (e.values) {
        entries[e.key] = e.values;
        return;
      }
      const ref = e.valueFrom!.secretKeyRef;
      const field = `spec.entries[${i}].valueFrom.secretKeyRef`;
      const secret = inventory.secrets.get(`${ns}/${ref.name}`);
      if (!secret) return reportMissingRef(r, inventory, `${field}.name`, 'Secret', ns, ref.name);
      if (!Object.hasOwn(secret.object.values, ref.key))
        return r.unresolved(`${field}.key`, `Secret "${ref.name}" has no key "${ref.key}"`, 'RefNotAccepted');
      const secretId = policySecretId(ns, ref);
      secretEntries[e.key] = secretId;
      secrets[secretId] = secret.object.values[ref.key]!;
    });
    if (r.failed) {
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    owners.set(id, metadata.name);
    out.push({
      ...address,
      name: metadata.name,
      encrypted: spec.encrypted ?? false,
      entries: Object.fromEntries(
        Object.keys(entries)
          .sort()
          .map((k) => [k, entries[k]!]),
      ),
      secretEntries: sortedRecord(secretEntries),
      secrets: sortedRecord(secrets),
    });
  }
  return out;
}
