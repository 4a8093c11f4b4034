// Which ApiProxies each DataPlane listener serves (docs/tenancy.md#listeners): a listener admits the
// proxies of the namespaces its allowedRoutes names, on the hosts it shares with them (Gateway API's
// allowedRoutes and listener hostnames). A proxy no listener of any DataPlane admits is not accepted
// (NotAllowedByListeners), so it can neither hold a route nor reach a product. Pure.
import type { Inventory } from './intake.ts';
import type { IrAttachment, IrDataPlane, IrListener, IrProxy } from './ir.ts';
import type { ObjectReporter } from './report.ts';

const hostname = (host: string) => host.replace(/:\d+$/, '');
const port = (host: string) => /:\d+$/.exec(host)?.[0] ?? '';

/** Whether a name (or "*.suffix" pattern) `specific` falls within the pattern `general`. */
export function within(specific: string, general: string): boolean {
  if (specific === general) return true;
  // "*.a.b" covers names ending in ".a.b" (never "a.b" itself), and "*.x.a.b" too.
  return general.startsWith('*.') && specific.endsWith(general.slice(1)) && specific.length > general.length - 1;
}

/**
 * The hosts a proxy is served on by a listener: each proxy host the listener's names cover, each
 * listener name a proxy wildcard covers (the more specific of the two, as Gateway API intersects
 * hostnames), or the listener's names for a proxy of every host. Undefined: they share none.
 */
export function listenerHosts(
  listener: Pick<IrListener, 'hostnames'>,
  proxyHosts: readonly string[],
): string[] | undefined {
  if (listener.hostnames.length === 0) return [...proxyHosts];
  if (proxyHosts.length === 0) return [...listener.hostnames];
  const shared = new Set<string>();
  for (const host of proxyHosts)
    for (const name of listener.hostnames) {
      if (within(hostname(host), name)) shared.add(host);
      else if (within(name, hostname(host))) shared.add(name + port(host));
    }
  return shared.size === 0 ? undefined : [...shared].sort();
}

export function admits(dataPlane: IrDataPlane, listener: IrListener, proxy: IrProxy): string[] | undefined {
  if (listener.allowedNamespaces === 'Same' && proxy.namespace !== dataPlane.namespace) return undefined;
  return listenerHosts(listener, proxy.hosts);
}

/** What each listener of a DataPlane serves, by listener name. */
export function attachments(dataPlane: IrDataPlane, proxies: readonly IrProxy[]): Map<string, IrAttachment[]> {
  return new Map(
    dataPlane.listeners.map((l) => [
      l.name,
      proxies.flatMap((proxy) => {
        const hosts = admits(dataPlane, l, proxy);
        return hosts ? [{ proxy, hosts }] : [];
      }),
    ]),
  );
}

/** The proxies some listener admits; each other one is reported NotAllowedByListeners and rejected. */
export function keepAttachable(
  candidates: readonly { proxy: IrProxy; r: ObjectReporter; key: string }[],
  dataPlanes: readonly IrDataPlane[],
  inventory: Inventory,
): typeof candidates {
  // With no DataPlane accepted there are no listeners to judge by (the DataPlane's own error says why).
  if (dataPlanes.length === 0) return candidates;
  return candidates.filter(({ proxy, r, key }) => {
    if (dataPlanes.some((dp) => dp.listeners.some((l) => admits(dp, l, proxy) !== undefined))) return true;
    r.invalid(
      'metadata.namespace',
      proxy.hosts.length === 0
        ? `no DataPlane listener admits ApiProxies from namespace ${proxy.namespace} (see the listeners' allowedRoutes)`
        : `no DataPlane listener admits ApiProxies from namespace ${proxy.namespace} on hosts ${proxy.hosts.join(', ')} (see the listeners' allowedRoutes and hostnames)`,
      'NotAllowedByListeners',
      'GH_ERR_COMPILE_NOT_ALLOWED_BY_LISTENERS',
    );
    inventory.rejected.add(key);
    return false;
  });
}
