// Developers: every schema-valid one is accepted, except that an email names one developer per
// namespace (as in an Apigee organization): of several with one email the oldest (then by name) keeps it
// and the others are not accepted (DuplicateEmail). Only the Developers accepted apps name reach the
// snapshot (compile.ts).
import { idKey, sortedRecord, type Inventory } from './intake.ts';
import type { IrDeveloper } from './ir.ts';
import { reporterFor, sortedValues, type Report } from './report.ts';

export function resolveDevelopers(inventory: Inventory, report: Report): IrDeveloper[] {
  const emailOwners = new Map<string, string>();
  const out: IrDeveloper[] = [];
  const ordered = sortedValues(inventory.developers).sort((a, b) => {
    const ta = a.object.metadata.creationTimestamp ?? '';
    const tb = b.object.metadata.creationTimestamp ?? '';
    if (ta !== tb) return ta === '' ? 1 : tb === '' ? -1 : ta < tb ? -1 : 1;
    return 0; // sortedValues already ordered them by namespace/name
  });
  for (const entry of ordered) {
    const { spec, metadata } = entry.object;
    const ns = entry.id.namespace;
    const emailKey = `${ns}/${spec.email.toLowerCase()}`;
    const owner = emailOwners.get(emailKey);
    if (owner !== undefined) {
      reporterFor(entry, report).invalid(
        'spec.email',
        `email ${spec.email} is already the email of Developer "${owner}" in namespace ${ns}`,
        'DuplicateEmail',
      );
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    emailOwners.set(emailKey, metadata.name);
    out.push({
      namespace: ns,
      name: metadata.name,
      email: spec.email,
      firstName: spec.firstName ?? '',
      lastName: spec.lastName ?? '',
      userName: spec.userName ?? '',
      status: spec.status ?? 'active',
      attributes: sortedRecord(spec.attributes),
    });
  }
  return out.sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
}
