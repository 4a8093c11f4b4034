// `gatehouse status --context A --context B ...`: lists the ApiProxies of each region (kubeconfig
// context) at once and prints how they compare (fleet-status.ts). A region that cannot be read is
// reported by name with its reason and the others are still printed; the exit code is 2 then.
import { GatehouseError } from '../../lib/errors.ts';
import type { StatusCommandOptions } from './command.ts';
import { compareRegions, exitCodeOf, renderJson, renderTable, type RegionInput } from './fleet-status.ts';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { KubeRest, resourcePath } from './kube/rest.ts';

async function readRegion(context: string, o: StatusCommandOptions): Promise<RegionInput> {
  let namespace: string | null = o.allNamespaces ? null : (o.namespace ?? null);
  try {
    const kc = loadKubeConfig({ kubeconfig: o.kubeconfig, context });
    if (!o.allNamespaces) namespace = o.namespace ?? (kc.getContextObject(context)?.namespace || 'default');
    const rest = new KubeRest(kc, { userAgent: 'gatehouse-status', timeoutMs: o.requestTimeout });
    const path = resourcePath({
      group: 'gatehouse.dev',
      version: 'v1alpha1',
      resource: 'apiproxies',
      ...(namespace === null ? {} : { namespace }),
    });
    try {
      const list = await rest.list(path);
      return { context, namespace, proxies: list.items };
    } finally {
      rest.close();
    }
  } catch (err) {
    if (!(err instanceof GatehouseError)) throw err;
    return { context, namespace, error: { code: err.code, message: err.message } };
  }
}

export async function runStatus(
  o: StatusCommandOptions,
  out: { write(text: string): unknown } = process.stdout,
): Promise<number> {
  const inputs = await Promise.all(o.contexts.map((context) => readRegion(context, o)));
  const report = compareRegions(inputs, o.allNamespaces);
  out.write(o.output === 'json' ? renderJson(report) : renderTable(report));
  return exitCodeOf(report);
}
