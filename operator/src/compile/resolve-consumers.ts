// ApiProducts and DeveloperApps: products must name accepted proxies; apps must name accepted products and
// Secrets holding consumerKey (and optionally consumerSecret), which are hashed here. An app whose
// Developer is missing is reported (ResolvedRefs=False) but still served, holding its keys: GitOps applies
// in any order, and its keys are refused at runtime meanwhile (DeveloperStatusNotActive).
import { holderName, noIncumbents, sortedByKeeperOrder, type Incumbents } from './incumbents.ts';
import { idKey, sortedRecord, type Entry, type Inventory } from './intake.ts';
import type { DeveloperApp } from '../api/kinds.ts';
import type { IrApp, IrCredential, IrDeveloper, IrProduct, IrProxy } from './ir.ts';
import { notFoundMessage, reportMissingRef, reporterFor, sortedValues, type Report } from './report.ts';

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

/** keyHash -> "namespace/name" of every app whose Secrets declare it. */
function declaredKeys(
  inventory: Inventory,
  hash: (v: string) => string,
): { declared: Map<string, Set<string>>; statusHolders: Map<string, Set<string>> } {
  const declared = new Map<string, Set<string>>();
  const statusHolders = new Map<string, Set<string>>();
  for (const entry of inventory.apps.values()) {
    const ns = entry.id.namespace;
    for (const c of entry.object.spec.credentials ?? []) {
      const key = inventory.secrets.get(`${ns}/${c.secretRef.name}`)?.object.values.consumerKey;
      if (!key) continue;
      const keyHash = hash(key);
      declared.set(keyHash, (declared.get(keyHash) ?? new Set()).add(`${ns}/${entry.id.name}`));
      if (entry.statusAccepted)
        statusHolders.set(keyHash, (statusHolders.get(keyHash) ?? new Set()).add(`${ns}/${entry.id.name}`));
    }
  }
  return { declared, statusHolders };
}

/** The Developer an app names, or a diagnostic that does not reject the app (see the header). */
function developerOf(
  inventory: Inventory,
  developers: ReadonlyMap<string, IrDeveloper>,
  app: Entry<DeveloperApp>,
  report: Report,
): IrDeveloper | undefined {
  const ref = app.object.spec.developerRef;
  if (!ref) return undefined;
  const ns = app.id.namespace;
  const developer = developers.get(`${ns}/${ref.name}`);
  if (developer) return developer;
  const rejected = inventory.rejected.has(idKey({ kind: 'Developer', namespace: ns, name: ref.name }));
  report({
    severity: 'error',
    code: 'GH_ERR_COMPILE_REF',
    ...app.origin,
    ...app.id,
    field: 'spec.developerRef.name',
    message: `${rejected ? `Developer "${ref.name}" is not accepted` : notFoundMessage('Developer', ref.name, ns)}: its keys are refused (DeveloperStatusNotActive) until it is`,
    condition: 'ResolvedRefs',
    reason: rejected ? 'RefNotAccepted' : 'RefNotFound',
  });
  return undefined;
}

export function resolveApps(
  inventory: Inventory,
  products: readonly IrProduct[],
  hash: (v: string) => string,
  report: Report,
  incumbents: Incumbents = noIncumbents,
  developers: readonly IrDeveloper[] = [],
): IrApp[] {
  const accepted = new Set(products.map((p) => `${p.namespace}/${p.name}`));
  const approval = new Map(products.map((p) => [`${p.namespace}/${p.name}`, p.approval]));
  const developersByName = new Map(developers.map((d) => [`${d.namespace}/${d.name}`, d]));
  // A consumer key identifies one app. The app holding it in the served snapshot keeps it while it
  // still declares it; otherwise the first accepted app in keeper order (apps that serve now, then the
  // oldest, then namespace/name) takes it (docs/tenancy.md).
  const { declared, statusHolders } = declaredKeys(inventory, hash);
  // The holder of a key: the app serving it in the snapshot being served (folder mode), or the one
  // app whose status says it is accepted with that key (kube mode); several such (a stale status) or
  // none: keeper order decides.
  const holder = (keyHash: string) => {
    const app = incumbents.consumerKeys.get(keyHash);
    if (app !== undefined && declared.get(keyHash)?.has(app)) return app;
    const byStatus = statusHolders.get(keyHash);
    return byStatus?.size === 1 ? [...byStatus][0] : undefined;
  };
  const serving = new Set(incumbents.consumerKeys.values());
  for (const entry of inventory.apps.values())
    if (entry.statusAccepted) serving.add(`${entry.id.namespace}/${entry.id.name}`);
  const keyOwners = new Map<string, string>();
  const out: IrApp[] = [];
  const ordered = sortedByKeeperOrder(
    sortedValues(inventory.apps),
    (e) => serving.has(`${e.id.namespace}/${e.id.name}`),
    (e) => ({
      namespace: e.id.namespace,
      name: e.id.name,
      creationTimestamp: e.object.metadata.creationTimestamp,
    }),
  );
  for (const entry of ordered) {
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
      const owner = keyOwners.get(keyHash) ?? holder(keyHash);
      if (owner !== undefined && owner !== `${ns}/${metadata.name}`)
        return r.invalid(
          field,
          `the consumerKey of Secret "${c.secretRef.name}" is already used by ${holderName('DeveloperApp', owner, ns)}`,
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
    const developer = developerOf(inventory, developersByName, entry, report);
    const fullName = developer ? [developer.firstName, developer.lastName].filter((n) => n !== '').join(' ') : '';
    out.push({
      namespace: ns,
      name: metadata.name,
      developerRef: spec.developerRef?.name ?? '',
      developerEmail: developer?.email ?? spec.developer?.email ?? '',
      developerName: developer ? fullName : (spec.developer?.name ?? ''),
      // A subscription without a status waits for approval when its product's approval is Manual.
      products: spec.products.map((p) => ({
        name: p.name,
        status: p.status ?? (approval.get(`${ns}/${p.name}`) === 'Manual' ? 'Pending' : 'Approved'),
      })),
      credentials,
      status: spec.status ?? 'Approved',
      attributes: sortedRecord(spec.attributes),
      callbackUrl: spec.callbackUrl ?? '',
    });
  }
  return out.sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
}
