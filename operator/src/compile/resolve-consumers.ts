// ApiProducts and DeveloperApps: products must name accepted proxies; apps must name accepted products and
// Secrets holding consumerKey (and optionally consumerSecret), which are hashed here.
import { idKey, sortedRecord, type Inventory } from './intake.ts';
import type { IrApp, IrCredential, IrProduct, IrProxy } from './ir.ts';
import { reportMissingRef, reporterFor, sortedValues, type Report } from './report.ts';

export function resolveProducts(inventory: Inventory, proxies: readonly IrProxy[], report: Report): IrProduct[] {
  const accepted = new Set(proxies.map((p) => `${p.namespace}/${p.name}`));
  const out: IrProduct[] = [];
  for (const entry of sortedValues(inventory.products)) {
    const r = reporterFor(entry, report);
    const { spec, metadata } = entry.object;
    const ns = entry.id.namespace;
    spec.proxies.forEach((name, i) => {
      if (!accepted.has(`${ns}/${name}`)) reportMissingRef(r, inventory, `spec.proxies[${i}]`, 'ApiProxy', ns, name);
    });
    if (r.failed) {
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    out.push({
      namespace: ns,
      name: metadata.name,
      displayName: spec.displayName ?? metadata.name,
      proxies: [...spec.proxies],
      resources: spec.resources && spec.resources.length > 0 ? [...spec.resources] : ['/**'],
      methods: [...(spec.methods ?? [])],
      ...(spec.quota
        ? { quota: { limit: spec.quota.limit, interval: spec.quota.interval ?? 1, timeUnit: spec.quota.timeUnit } }
        : {}),
      scopes: [...(spec.scopes ?? [])],
      approval: spec.approval ?? 'Auto',
      attributes: sortedRecord(spec.attributes),
    });
  }
  return out;
}

export function resolveApps(
  inventory: Inventory,
  products: readonly IrProduct[],
  hash: (v: string) => string,
  report: Report,
): IrApp[] {
  const accepted = new Set(products.map((p) => `${p.namespace}/${p.name}`));
  // A consumer key identifies one app; the first app in namespace/name order keeps a shared key.
  const keyOwners = new Map<string, string>();
  const out: IrApp[] = [];
  for (const entry of sortedValues(inventory.apps)) {
    const r = reporterFor(entry, report);
    const { spec, metadata } = entry.object;
    const ns = entry.id.namespace;
    spec.products.forEach((p, i) => {
      if (!accepted.has(`${ns}/${p.name}`))
        reportMissingRef(r, inventory, `spec.products[${i}].name`, 'ApiProduct', ns, p.name);
    });
    const claimed: string[] = [];
    const credentials: IrCredential[] = [];
    (spec.credentials ?? []).forEach((c, i) => {
      const field = `spec.credentials[${i}].secretRef.name`;
      const secret = inventory.secrets.get(`${ns}/${c.secretRef.name}`);
      if (!secret) return reportMissingRef(r, inventory, field, 'Secret', ns, c.secretRef.name);
      const { consumerKey, consumerSecret } = secret.object.values;
      if (!consumerKey) return r.unresolved(field, `Secret "${c.secretRef.name}" has no consumerKey`, 'RefNotAccepted');
      const keyHash = hash(consumerKey);
      const owner = keyOwners.get(keyHash);
      if (owner)
        return r.invalid(
          field,
          `the consumerKey of Secret "${c.secretRef.name}" is already used by DeveloperApp ${owner}`,
          'DuplicateCredential',
        );
      claimed.push(keyHash);
      credentials.push({
        keyHash,
        secretHash: consumerSecret ? hash(consumerSecret) : '',
        status: c.status ?? 'Approved',
        expiresAtMs: c.expiresAt ? Date.parse(c.expiresAt) : 0,
      });
    });
    if (r.failed) {
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    for (const k of claimed) keyOwners.set(k, `${ns}/${metadata.name}`);
    out.push({
      namespace: ns,
      name: metadata.name,
      developerEmail: spec.developer.email,
      developerName: spec.developer.name ?? '',
      products: spec.products.map((p) => ({ name: p.name, status: p.status ?? 'Approved' })),
      credentials,
      status: spec.status ?? 'Approved',
      attributes: sortedRecord(spec.attributes),
      callbackUrl: spec.callbackUrl ?? '',
    });
  }
  return out;
}
